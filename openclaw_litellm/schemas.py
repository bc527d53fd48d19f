"""The request body of ``POST /v1/chat/completions`` (and WebSocket frames), validated.

Types are strict where OpenAI is strict (a ``stream`` of ``"yes"``, a ``temperature`` of ``"0.5"``
or a ``max_tokens`` of ``10.5`` is an error, not coerced); integers are bounded.
Fields OpenAI defines but a provider may lack are accepted and passed on or dropped by the
backend; keys nobody knows are ignored, as OpenAI-compatible servers commonly do, so that
clients sending newer fields (``prompt_cache_key``, ``store``...) keep working.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, field_validator

from llmrouter import errors
from llmrouter.providers import OPENAI_PARAMS

__all__ = ["MAX_INT32", "MAX_JSON_DEPTH", "ChatRequest", "Message", "parse_body", "parse_chat_request"]

M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 64
# Integers are bounded so that they serialize (orjson: 64 bits) and mean something upstream.
MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1
# The fields forwarded to the provider; the rest (model, messages, stream...) the gateway uses.
_FORWARDED = set(OPENAI_PARAMS)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class FunctionCall(_Lenient):
    name: StrictStr
    arguments: StrictStr = ""


class ToolCall(_Lenient):
    id: StrictStr
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None
    name: StrictStr | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: StrictStr | None = None

    @field_validator("content")
    @classmethod
    def _parts_have_type(cls, value: Any) -> Any:
        if isinstance(value, list):
            for part in value:
                if not isinstance(part.get("type"), str):
                    raise ValueError("each content part needs a string `type` (text, image_url...)")
        return value


class FunctionDef(_Lenient):
    name: StrictStr = Field(min_length=1, max_length=64)
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(_Lenient):
    type: Literal["function"]
    function: FunctionDef


class StreamOptions(_Lenient):
    include_usage: StrictBool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: StrictStr = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: StrictFloat | None = Field(None, ge=0, le=2)
    top_p: StrictFloat | None = Field(None, ge=0, le=1)
    max_tokens: StrictInt | None = Field(None, ge=1, le=MAX_INT32)
    max_completion_tokens: StrictInt | None = Field(None, ge=1, le=MAX_INT32)
    stop: StrictStr | list[StrictStr] | None = None
    tools: list[Tool] | None = None
    tool_choice: StrictStr | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    user: StrictStr | None = None
    seed: StrictInt | None = Field(None, ge=-MAX_INT64 - 1, le=MAX_INT64)
    n: StrictInt | None = Field(None, ge=1, le=1)
    response_format: dict[str, Any] | None = None
    presence_penalty: StrictFloat | None = Field(None, ge=-2, le=2)
    frequency_penalty: StrictFloat | None = Field(None, ge=-2, le=2)
    reasoning_effort: StrictStr | None = None
    # Accepted and not forwarded: OpenAI-platform features (stored completions, a cache-routing
    # hint) that the gateway cannot know its configured upstream has, and that strict
    # OpenAI-compatible servers may reject as unknown keys.
    store: StrictBool | None = None
    prompt_cache_key: StrictStr | None = None

    @field_validator("stop")
    @classmethod
    def _stop_count(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    def messages_as_dicts(self) -> list[dict[str, Any]]:
        return [m.model_dump(exclude_none=True) for m in self.messages]

    def provider_params(self) -> dict[str, Any]:
        """The OpenAI parameters to forward (unset ones left out)."""
        params = self.model_dump(exclude_none=True, include=_FORWARDED)
        if "max_completion_tokens" in params:
            params.setdefault("max_tokens", params["max_completion_tokens"])
            del params["max_completion_tokens"]
        return params

    @property
    def wants_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def apply_usage_policy(self, usage_chunk: str) -> None:
        """``serve.usage_chunk``: with ``always``, a stream ends with usage even when not asked."""
        if usage_chunk == "always" and not self.wants_usage:
            self.stream_options = StreamOptions(include_usage=True)


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def _param(loc: tuple[Any, ...], data: Any, missing: bool) -> str:
    """The path of the offending field *in the request* (``stop``, ``messages.0.content``).

    Pydantic's locations also name the member of a union that failed (``stop.str``,
    ``messages.0.content.list[dict[str,any]].0``); those are not keys the client sent.
    """
    parts: list[str] = []
    node = data
    for i, key in enumerate(loc):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            if missing and i == len(loc) - 1 and isinstance(node, dict):
                parts.append(str(key))  # the field that is absent
            break
        parts.append(str(key))
    return ".".join(parts)


def parse_body(raw: bytes | str, model: type[M]) -> M:
    """A request body (JSON bytes or text) as a valid ``model``, or a 400 catalog error.

    The one parser for every endpoint and WebSocket frame: the same limits (an object, at
    most :data:`MAX_JSON_DEPTH` deep) and the same wording, naming the offending field as
    the client sent it (``param``).
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise errors.bad_request("The request body must be a JSON object")
    if _depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise errors.bad_request(f"The request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        missing = first["type"] == "missing"
        where = _param(first["loc"], data, missing=missing)
        message = "is required" if missing else first["msg"].removeprefix("Value error, ")
        raise errors.bad_request(f"Invalid request: `{where}` {message}", param=where or None) from None


def parse_chat_request(raw: bytes | str) -> ChatRequest:
    """Bytes to a valid :class:`ChatRequest`, or a 400 catalog error saying what is wrong."""
    return parse_body(raw, ChatRequest)
