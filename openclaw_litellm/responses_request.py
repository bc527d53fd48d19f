"""``POST /v1/responses`` request bodies, translated into the chat request the gateway serves.

The Responses API is served on top of chat completions: the same routing, fallbacks and
backends (both provider families), so a Responses request becomes a :class:`ChatRequest`.
The gateway stores nothing, so every request carries its whole conversation, as OpenClaw's
``openai-responses`` mode does (``store: false``, full history each turn).

=================================  ============================================================
Responses                          chat completions
=================================  ============================================================
``instructions``                   a first ``system`` message
``input`` as a string              one ``user`` message
``message`` items (also bare       messages of the same role; ``input_text`` / ``output_text``
``{role, content}``)               parts become ``text`` parts, ``input_image`` ``image_url``
``function_call`` items            ``tool_calls`` of one assistant message, with the assistant
                                   text just before them (chat puts both in one message)
``function_call_output`` items     ``tool`` messages (``call_id`` -> ``tool_call_id``)
``reasoning`` items                dropped: chat has no place for them
flat ``function`` tools            ``{"type": "function", "function": {...}}``
``tool_choice``                    the same; ``{"type": "function", "name"}`` is nested
``max_output_tokens``              ``max_tokens``
``reasoning.effort``               ``reasoning_effort``
``text.format``                    ``response_format``
``temperature``, ``top_p``,        the same
``parallel_tool_calls``, ``user``,
``prompt_cache_key``,
``prompt_cache_retention``
=================================  ============================================================

Accepted and not forwarded: ``store``, ``include``, ``metadata``,
``truncation``, ``service_tier``, ``safety_identifier``, ``stream_options``, reasoning
``summary``. Refused with a 400 that says why: ``previous_response_id`` and ``conversation``
(nothing is stored), ``background: true``, tools other than functions, and input items the
chat format cannot carry (files, audio, item references).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, field_validator

from llmrouter import errors
from openclaw_litellm.schemas import MAX_INT32, ChatRequest, integral, parse_body

__all__ = ["ResponsesRequest", "parse_responses_request"]

Item = dict[str, Any]


class ResponsesRequest(BaseModel):
    """The top-level fields the gateway reads; items are checked one by one in translation."""

    model_config = ConfigDict(extra="ignore")

    model: StrictStr = Field(min_length=1)
    input: StrictStr | list[dict[str, Any]]
    instructions: StrictStr | None = None
    stream: StrictBool = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: StrictStr | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    max_output_tokens: StrictInt | None = Field(None, ge=1, le=MAX_INT32)
    temperature: StrictFloat | None = Field(None, ge=0, le=2)
    top_p: StrictFloat | None = Field(None, ge=0, le=1)
    reasoning: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    user: StrictStr | None = None
    store: StrictBool | None = None
    # Accepted so that the error can say why (see to_chat); the OpenAPI document says which values work.
    background: StrictBool | None = Field(None, json_schema_extra={"enum": [False, None]})
    previous_response_id: StrictStr | None = Field(None, json_schema_extra={"enum": [None]})
    conversation: StrictStr | dict[str, Any] | None = Field(None, json_schema_extra={"enum": [None]})
    metadata: dict[str, Any] | None = None
    prompt_cache_key: StrictStr | None = None
    prompt_cache_retention: StrictStr | None = None

    _integral = field_validator("max_output_tokens", mode="before")(integral)

    def to_chat(self) -> ChatRequest:
        """The equivalent chat request (always asking for usage: ``response.completed`` has it)."""
        if self.previous_response_id or self.conversation:
            key = "previous_response_id" if self.previous_response_id else "conversation"
            raise errors.bad_request(
                f"`{key}` is not supported: the gateway stores no responses. Send the whole conversation "
                "in `input` (with `store: false`), as OpenClaw does.", param=key,
            )
        if self.background:
            raise errors.bad_request("`background: true` is not supported: the gateway answers while connected.", param="background")
        body: dict[str, Any] = {
            "model": self.model,
            "messages": _messages(self.instructions, self.input),
            "stream": self.stream,
            "stream_options": {"include_usage": True},
        }
        if self.tools:
            body["tools"] = [_tool(i, tool) for i, tool in enumerate(self.tools)]
        if self.tool_choice is not None:
            body["tool_choice"] = _tool_choice(self.tool_choice)
        if self.max_output_tokens is not None:
            body["max_tokens"] = self.max_output_tokens
        effort = (self.reasoning or {}).get("effort")
        if isinstance(effort, str):
            body["reasoning_effort"] = effort
        response_format = _response_format((self.text or {}).get("format"))
        if response_format is not None:
            body["response_format"] = response_format
        for key in ("temperature", "top_p", "parallel_tool_calls", "user", "prompt_cache_key", "prompt_cache_retention"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        try:
            return ChatRequest.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise errors.bad_request(f"Invalid request (as chat: `{where}`): {first['msg'].removeprefix('Value error, ')}") from None


def _bad(where: str, message: str) -> errors.GatewayError:
    return errors.bad_request(f"Invalid request: `{where}` {message}", param=where)


def _parts(where: str, content: Any) -> str | list[dict[str, Any]]:
    """A message's content: a string stays one; parts become chat content parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(where, "must be a string or a list of content parts")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text", "summary_text"):
            parts.append({"type": "text", "text": str(part.get("text") or "")})
        elif kind == "refusal":
            parts.append({"type": "text", "text": str(part.get("refusal") or "")})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str):
                raise _bad(f"{where}.{j}", "is an image by file_id; send it as `image_url` (a data: or https: URL)")
            image: dict[str, Any] = {"url": url}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise _bad(f"{where}.{j}", f"has type {kind!r}, which the gateway cannot pass to chat models (text and images only)")
    return parts


def _text(content: str | list[dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    return "".join(p["text"] for p in content if p["type"] == "text")


def _messages(instructions: str | None, input_: str | list[Item]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    if isinstance(input_, str):
        messages.append({"role": "user", "content": input_})
        return messages
    for i, item in enumerate(input_):
        where = f"input.{i}"
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            if role not in ("system", "developer", "user", "assistant"):
                raise _bad(f"{where}.role", f"must be system, developer, user or assistant, not {role!r}")
            content = _parts(f"{where}.content", item.get("content"))
            if role == "assistant":  # chat's assistant content is text; parts would be text anyway
                content = _text(content)
            messages.append({"role": role, "content": content})
        elif kind == "function_call":
            call_id, name = item.get("call_id"), item.get("name")
            if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
                raise _bad(where, "a function_call item needs string `call_id` and `name`")
            arguments = item.get("arguments")
            if not isinstance(arguments, str):
                arguments = orjson.dumps(arguments if arguments is not None else {}).decode()
            call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":  # the text before it, or a parallel call
                last.setdefault("tool_calls", []).append(call)
                if last.get("content") == "":
                    last["content"] = None
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not call_id:
                raise _bad(where, "a function_call_output item needs a string `call_id`")
            output = item.get("output")
            if isinstance(output, list):
                output = _text(_parts(f"{where}.output", output))
            elif not isinstance(output, str):
                output = orjson.dumps(output).decode()
            messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
        elif kind == "reasoning":
            continue
        else:
            raise _bad(f"{where}.type", f"{kind!r} items are not supported (message, function_call, function_call_output, reasoning)")
    if not messages:
        raise _bad("input", "holds no message")
    return messages


def _tool(i: int, tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise _bad(f"tools.{i}.type", f"is {tool.get('type')!r}: only function tools are supported by the gateway")
    function = {"name": tool.get("name")}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def _tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, str):
        return choice
    if choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    if choice.get("type") in ("auto", "none", "required"):
        return str(choice["type"])
    raise _bad("tool_choice", "must be auto, none, required or {type: function, name}")


def _response_format(fmt: Any) -> dict[str, Any] | None:
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    raise _bad("text.format.type", f"{fmt.get('type')!r} is not one of text, json_object, json_schema")


def parse_responses_request(raw: bytes | str) -> ResponsesRequest:
    """Bytes to a valid :class:`ResponsesRequest`, or a 400 catalog error saying what is wrong."""
    return parse_body(raw, ResponsesRequest)
