"""``ChatCall``: one provider call, normalized from a call_api request dict.

A call_api request carries either a full OpenAI ``messages`` list or the legacy
``query`` + ``system_prompt`` pair; both become ``messages`` here, so nothing downstream ever
reduces a conversation to its last turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmrouter import errors
from llmrouter.providers import CALL_API_TIMEOUT_S, OPENAI, OPENAI_PARAMS, ProviderKind, provider_kind
from llmrouter.secrets import register_secret

__all__ = ["ChatCall", "from_request"]


@dataclass
class ChatCall:
    """One provider call. Built only by :func:`from_request`, whatever the caller (call_api,
    the CLI, the server's backend, the Bedrock handler), so every path normalizes alike."""

    provider: ProviderKind
    model_id: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    endpoint: str | None = None  # base URL; for Bedrock an optional bedrock-runtime override
    region: str | None = None
    aws_profile: str | None = None
    api_keys: tuple[str, ...] = ()
    timeout: float = CALL_API_TIMEOUT_S


def build_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    messages = request.get("messages")
    if messages:
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise errors.bad_request("`messages` must be a list of {role, content} objects", param="messages")
        return messages
    query = request.get("query")
    if not isinstance(query, str) or not query:
        raise errors.bad_request("the request needs `messages` or a non-empty `query`", param="query")
    built: list[dict[str, Any]] = []
    if request.get("system_prompt"):
        built.append({"role": "system", "content": request["system_prompt"]})
    built.append({"role": "user", "content": query})
    return built


def from_request(
    request: dict[str, Any],
    *,
    api_keys: tuple[str, ...] = (),
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    timeout: float = CALL_API_TIMEOUT_S,
) -> ChatCall:
    """Normalize one call_api request dict; request-level values override the defaults.

    ``max_tokens``, ``temperature`` and ``top_p`` are defaults (call_api's); ``None`` sends
    none, leaving the provider's own (the server forwards only what the client set).
    """
    if not isinstance(request, dict):
        raise errors.bad_request("each call_api request must be a dict")
    model_id = request.get("api_name") or request.get("model_name")
    if not model_id:
        raise errors.bad_request("the request needs `api_name` (the provider's model id) or `model_name`", param="api_name")
    provider = provider_kind(request.get("service"))
    defaults = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p}
    params: dict[str, Any] = {key: value for key, value in defaults.items() if value is not None}
    for key in OPENAI_PARAMS:
        if request.get(key) is not None:
            params[key] = request[key]
    if "max_completion_tokens" in params:
        params["max_tokens"] = params.pop("max_completion_tokens")
    endpoint = request.get("api_endpoint") or None
    if provider == OPENAI and not endpoint:
        raise errors.bad_request("the request needs `api_endpoint` (an OpenAI-compatible base URL)", param="api_endpoint")
    own_key = request.get("api_key")
    register_secret(own_key)
    return ChatCall(
        provider=provider,
        model_id=str(model_id),
        messages=build_messages(request),
        params=params,
        endpoint=endpoint,
        region=request.get("aws_region") or None,
        aws_profile=request.get("aws_profile") or None,
        api_keys=(own_key,) if own_key else api_keys,
        timeout=_seconds(request.get("timeout"), timeout),
    )


def _seconds(value: Any, default: float) -> float:
    if value is None or value == "":
        return float(default)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise errors.bad_request(f"`timeout` must be a positive number of seconds, not {value!r}", param="timeout")
    return seconds
