"""The one error catalog.

Every failure the CLI or the gateway can report becomes a :class:`GatewayError`: an HTTP
status, an OpenAI error ``type`` and ``code``, and a message that tells the user how to fix
it. The same text is printed by ``llmrouter infer``, returned as JSON by the server, and sent
as an SSE / WebSocket error event, because all of them render this one object.

Messages name the model id and the AWS region used, never a secret: every message passes
through :func:`llmrouter.secrets.redact` on its way out.

Turning whatever an upstream call raised (LiteLLM, botocore, httpx...) into a catalog entry is
the job of :mod:`llmrouter.error_classify`.

The catalog is one package read as one module (``from llmrouter import errors``;
``errors.throttled(...)``), kept in files by area: :mod:`.base` (the exception),
:mod:`.bedrock`, :mod:`.upstream` (any provider) and :mod:`.client`.
"""

from __future__ import annotations

from typing import Any

from llmrouter.errors.base import GatewayError
from llmrouter.errors.bedrock import (
    boto3_missing,
    litellm_missing,
    provider_key_unset,
    credentials_missing,
    credentials_invalid,
    model_id_invalid,
    model_access_denied,
    region_missing,
)
from llmrouter.errors.upstream import (
    timeout,
    deadline_exceeded,
    throttled,
    upstream_auth_failed,
    upstream_error,
    upstream_interrupted,
    upstream_unreachable,
    replay_missing,
)
from llmrouter.errors.client import (
    bad_request,
    request_too_large,
    gateway_key_invalid,
    rate_limit_exceeded,
    budget_exceeded,
    model_not_allowed,
    http_error,
    unknown_model,
    internal_error,
)
from llmrouter.retry_after import MAX_RETRY_AFTER, parse_retry_after

__all__ = [
    "GatewayError",
    "MAX_RETRY_AFTER",
    "bad_request",
    "boto3_missing",
    "budget_exceeded",
    "classify",
    "credentials_invalid",
    "credentials_missing",
    "deadline_exceeded",
    "find_cause",
    "gateway_key_invalid",
    "http_error",
    "internal_error",
    "litellm_missing",
    "model_access_denied",
    "model_id_invalid",
    "model_not_allowed",
    "parse_retry_after",
    "provider_key_unset",
    "rate_limit_exceeded",
    "region_missing",
    "replay_missing",
    "request_too_large",
    "throttled",
    "timeout",
    "unknown_model",
    "upstream_auth_failed",
    "upstream_error",
    "upstream_interrupted",
    "upstream_unreachable",
]


# classify() and find_cause() live in llmrouter.error_classify (the catalog does not depend on
# them); they stay reachable as ``errors.classify`` / ``errors.find_cause`` for existing callers.
# Imported on first use, since error_classify imports this module.
def __getattr__(name: str) -> Any:
    if name in ("classify", "find_cause"):
        from llmrouter import error_classify

        return getattr(error_classify, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
