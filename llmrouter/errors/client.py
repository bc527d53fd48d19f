"""The catalog, the client's side: bad requests, gateway keys and their limits; the gateway's own failures."""

from __future__ import annotations

import math

from llmrouter.errors.base import GatewayError

__all__ = [
    "bad_request",
    "budget_exceeded",
    "gateway_key_invalid",
    "http_error",
    "internal_error",
    "model_not_allowed",
    "rate_limit_exceeded",
    "request_too_large",
    "unknown_model",
]

def bad_request(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(message, status=400, type="invalid_request_error", code="invalid_request", param=param)


def request_too_large(limit: int) -> GatewayError:
    return GatewayError(
        f"The request body is larger than the gateway's limit of {limit} bytes (serve.max_body_bytes).",
        status=413, type="invalid_request_error", code="request_too_large",
    )


def gateway_key_invalid() -> GatewayError:
    """The client's key for *this gateway* (``serve.api_keys``), not a provider's."""
    return GatewayError(
        "Missing or invalid gateway API key. Send it as `Authorization: Bearer <key>` or "
        "`x-api-key: <key>` (the keys are in serve.api_keys of the gateway's config).",
        status=401, type="authentication_error", code="invalid_api_key",
    )


def rate_limit_exceeded(kind: str, limit: float, retry_after: float) -> GatewayError:
    """The caller's gateway key is over its ``rpm`` (requests) or ``tpm`` (tokens) per minute."""
    what = "requests" if kind == "rpm" else "tokens"
    return GatewayError(
        f"Rate limit of this gateway key reached: {limit:g} {what} per minute ({kind} in "
        f"serve.api_keys). Retry after {math.ceil(retry_after)} s.",
        status=429,
        type=what,  # OpenAI's own shape for these: type "requests" or "tokens"
        code="rate_limit_exceeded",
        retry_after=math.ceil(retry_after),
    )


def budget_exceeded(budget_usd: float, period: str, retry_after: float) -> GatewayError:
    """The caller's gateway key has spent its ``budget_usd`` for the current ``budget_period``."""
    return GatewayError(
        f"Budget of this gateway key reached: ${budget_usd:g} per {period} (budget_usd in "
        f"serve.api_keys). It resets in {math.ceil(retry_after)} s.",
        status=429, type="insufficient_quota", code="budget_exceeded",
        retry_after=math.ceil(retry_after),
    )


def model_not_allowed(name: str, allowed: list[str]) -> GatewayError:
    """The caller's gateway key may not use this model (its ``models`` allow-list)."""
    return GatewayError(
        f"This gateway key may not use the model '{name}'. Allowed: {', '.join(allowed)} "
        "(models in serve.api_keys).",
        status=403, type="permission_error", code="model_not_allowed",
        param="model",
    )


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def http_error(status: int, method: str, path: str, detail: str) -> GatewayError:
    """A request the HTTP layer refused before any endpoint ran (no such route, wrong method)."""
    return GatewayError(
        f"{method} {path}: {detail}",
        status=status, type="invalid_request_error", code=_HTTP_CODES.get(status, "http_error"),
    )


def unknown_model(name: str, available: list[str]) -> GatewayError:
    return GatewayError(
        f"The model '{name}' does not exist on this gateway. Available: "
        f"{', '.join(['auto', *available])}.",
        status=404, type="invalid_request_error", code="model_not_found",
        param="model",
    )


# --- the gateway's own failures ------------------------------------------------------------


def internal_error(what: str = "request") -> GatewayError:
    """A bug or an unforeseen failure: the details go to the log, never to the client."""
    return GatewayError(
        f"The {what} failed unexpectedly; see the gateway log.",
        status=500, type="server_error", code="internal_error",
    )
