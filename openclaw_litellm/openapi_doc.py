"""What the OpenAPI document says each operation answers, besides its 200.

Clients generate SDKs and mocks from ``/openapi.json``, and schema-driven fuzzers hold the
server to it, so it lists every status an operation can answer, each in OpenAI's error shape
(the catalog in :mod:`llmrouter.errors`), and both media types of a completion (JSON, or
Server-Sent Events with ``stream: true``). The route decorators in :mod:`openclaw_litellm.app`
and :mod:`openclaw_litellm.responses_api` take these as ``responses=``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_SCHEMA", "completion_responses", "error_responses", "json_body", "ready_responses"]

# OpenAI's error shape, as every failure of the gateway is rendered (GatewayError.to_dict).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string", "examples": ["invalid_request_error", "authentication_error", "api_error"]},
                "code": {"type": ["string", "null"], "examples": ["invalid_request", "model_not_found", "throttled"]},
                "param": {"type": ["string", "null"]},
            },
        }
    },
}

# Why each status happens; the catalog's codes say which case it was.
_WHY = {
    400: "Invalid request: malformed JSON, a field of the wrong type, or a request the provider refused",
    401: "No or wrong gateway key (only when `serve.api_keys` is set), or the provider refused the credentials",
    403: "The provider's credentials lack access to the model",
    404: "No model of that name on this gateway (`model_not_found`)",
    413: "The request body exceeds `serve.max_body_bytes`",
    429: "The provider is throttling; `retry-after` says when to retry",
    500: "An unexpected gateway failure (details in the gateway log, never in the answer)",
    502: "The provider failed or could not be reached (after retries and fallbacks)",
    503: "A dependency the model needs is missing (e.g. boto3 for Bedrock)",
    504: "The provider did not answer within the timeout",
}
# What a chat or responses request can end in.
COMPLETION_ERRORS = (400, 401, 403, 404, 413, 429, 500, 502, 503, 504)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these error statuses, each in OpenAI's error shape."""
    return {status: {"description": _WHY[status], "content": {"application/json": {"schema": ERROR_SCHEMA}}} for status in statuses}


# One Server-Sent Event: `data` is a JSON chunk (chat: `[DONE]` last), `event` names it (responses).
_SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
}


def completion_responses(what: str) -> dict[int | str, dict[str, Any]]:
    """A completion endpoint's answers: ``what`` as JSON or as an event stream, and its errors."""
    ok = {
        "description": f"{what}: JSON, or with `stream: true` Server-Sent Events",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {"schema": _SSE_EVENT}},
    }
    return {200: ok, **error_responses(*COMPLETION_ERRORS)}


def ready_responses() -> dict[int | str, dict[str, Any]]:
    """``/health/ready``: 200 when ready, 503 while LiteLLM still loads for Bedrock models."""
    body = {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "warming_up"]},
            "litellm_loaded": {"type": "boolean"},
            "litellm_load_seconds": {"type": ["number", "null"]},
            "models": {"type": "integer"},
        },
    }
    return {
        200: {"description": "Ready: every configured model can be served", "content": {"application/json": {"schema": body}}},
        503: {"description": "Warming up: LiteLLM (needed by Bedrock models) is still loading", "content": {"application/json": {"schema": body}}},
    }


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for an endpoint that reads its JSON body itself: required, with this schema."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": _int64_as_format(schema)}}}}


_INT64 = (-(2**63), 2**63 - 1)


def _int64_as_format(node: Any) -> Any:
    """Integer bounds of exactly int64 as OpenAPI's ``format: int64``.

    Bounds like 9223372036854775807 do not survive a trip through a float (JavaScript clients,
    schema-driven generators): they read as 2**63 and produce values the server must refuse.
    """
    if isinstance(node, list):
        return [_int64_as_format(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _int64_as_format(v) for k, v in node.items()}
    if out.get("type") == "integer" and (out.get("minimum"), out.get("maximum")) == _INT64:
        del out["minimum"], out["maximum"]
        out["format"] = "int64"
    return out
