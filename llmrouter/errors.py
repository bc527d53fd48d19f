"""The one error catalog.

Every failure the CLI or the gateway can report becomes a :class:`GatewayError`: an HTTP
status, an OpenAI error ``type`` and ``code``, and a message that tells the user how to fix
it. The same text is printed by ``llmrouter infer``, returned as JSON by the server, and sent
as an SSE / WebSocket error event, because all of them render this one object.

Messages name the model id and the AWS region used, never a secret: every message passes
through :func:`llmrouter.secrets.redact` on its way out.

Turning whatever an upstream call raised (LiteLLM, botocore, httpx...) into a catalog entry is
the job of :mod:`llmrouter.error_classify`.
"""

from __future__ import annotations

import math
from typing import Any

from llmrouter.providers import BEDROCK
from llmrouter.retry_after import MAX_RETRY_AFTER, parse_retry_after
from llmrouter.secrets import redact

__all__ = [
    "MAX_RETRY_AFTER",
    "GatewayError",
    "bad_request",
    "budget_exceeded",
    "boto3_missing",
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

MODEL_REGION_TABLE_URL = "https://docs.aws.amazon.com/bedrock/latest/userguide/models-regions.html"
MODEL_IDS_URL = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-ids.html"
CREDENTIALS_URL = "https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html"
EXAMPLE_MODEL_IDS = (
    "'anthropic.claude-3-haiku-20240307-v1:0', 'amazon.nova-lite-v1:0', "
    "'meta.llama3-1-8b-instruct-v1:0', or a cross-region profile such as "
    "'us.anthropic.claude-3-5-haiku-20241022-v1:0'"
)


class GatewayError(Exception):
    """A failure with its HTTP status, OpenAI error type/code and an actionable message."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str,
        code: str,
        retryable: bool = False,
        retry_after: float | None = None,
        param: str | None = None,
    ) -> None:
        self.message = redact(message)  # the one way out for a message: never with a secret in it
        super().__init__(self.message)
        self.status, self.type, self.code, self.param = status, type, code, param
        # Whether calling again may help (throttling, 5xx, timeouts), and when at the earliest.
        self.retryable, self.retry_after = retryable, retry_after

    def to_dict(self) -> dict[str, Any]:
        """OpenAI's error shape: ``{"error": {"message", "type", "code", "param"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }

    def __repr__(self) -> str:
        return f"GatewayError(status={self.status}, code={self.code!r}, message={self.message!r})"


def _where(model_id: str, region: str | None) -> str:
    return f"model '{model_id}' in region '{region or 'unresolved'}'"


# --- AWS Bedrock ---------------------------------------------------------------------------


def boto3_missing() -> GatewayError:
    return GatewayError(
        "AWS Bedrock needs boto3, which cannot be imported here (llmrouter's install brings it "
        "through LiteLLM: it was removed, or this runs in another environment). Reinstall it with "
        "`pip install boto3` in the environment the gateway runs in, then retry.",
        status=503,
        type="server_error",
        code="bedrock_dependency_missing",
    )


def litellm_missing() -> GatewayError:
    return GatewayError(
        "AWS Bedrock calls go through LiteLLM, which is not importable in this environment. "
        "Install it with `pip install litellm` (or reinstall llmrouter: `pip install -e .`) in the same "
        "environment as llmrouter, then restart.",
        status=503,
        type="server_error",
        code="bedrock_dependency_missing",
    )


def provider_key_unset(variable: str, model: str, key_path: str) -> GatewayError:
    """A model whose API key reads an environment variable that was not set at startup."""
    return GatewayError(
        f"Model '{model}' has no API key: `{key_path}` reads the environment variable {variable}, which "
        f"is not set. Set {variable} (export {variable}=...) and restart the gateway.",
        status=401,
        type="authentication_error",
        code="provider_key_unset",
    )


def credentials_missing(model_id: str, region: str | None) -> GatewayError:
    return GatewayError(
        f"No AWS credentials found for Bedrock ({_where(model_id, region)}). Configure them "
        "in any way boto3 reads: environment variables AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary ones), a profile in "
        "~/.aws/credentials or ~/.aws/config (select it with AWS_PROFILE or `aws_profile` in "
        "the YAML), `aws sso login --profile NAME` for SSO, or an instance/task role. "
        f"See {CREDENTIALS_URL}",
        status=401,
        type="authentication_error",
        code="aws_credentials_missing",
    )


def credentials_invalid(model_id: str, region: str | None, detail: str = "") -> GatewayError:
    reason = f" AWS said: {detail}." if detail else ""
    return GatewayError(
        f"AWS rejected the credentials used for Bedrock ({_where(model_id, region)}): they "
        f"are invalid or expired.{reason} Refresh them (`aws sso login`, new temporary "
        "credentials with their AWS_SESSION_TOKEN, or a corrected access key pair) and check "
        "which ones are in use with `aws sts get-caller-identity`.",
        status=401,
        type="authentication_error",
        code="aws_credentials_invalid",
    )


def model_id_invalid(model_id: str, region: str | None) -> GatewayError:
    return GatewayError(
        f"Bedrock does not recognise {_where(model_id, region)}. Either the id is misspelt "
        f"or the model is not offered in that region. Valid ids look like {EXAMPLE_MODEL_IDS}; "
        f"list them with `aws bedrock list-foundation-models --region {region or 'REGION'}` "
        f"or see {MODEL_IDS_URL}. If the model exists elsewhere, set `aws_region` for it in "
        f"the YAML (regions per model: {MODEL_REGION_TABLE_URL}).",
        status=400,
        type="invalid_request_error",
        code="bedrock_model_id_invalid",
    )


def model_access_denied(model_id: str, region: str | None, detail: str = "") -> GatewayError:
    reason = f" AWS said: {detail}." if detail else ""
    return GatewayError(
        f"Bedrock refused access to {_where(model_id, region)}.{reason} Request access to the "
        "model in the Bedrock console (Model access) for that region, make sure the IAM "
        "identity may call bedrock:InvokeModel, or set `aws_region` to a region where the "
        f"model is available ({MODEL_REGION_TABLE_URL}). Some models need a cross-region "
        "inference profile id (for example 'us.' + the model id).",
        status=403,
        type="permission_error",
        code="bedrock_model_access_denied",
    )


def region_missing(model_id: str) -> GatewayError:
    return GatewayError(
        f"No AWS region is configured for Bedrock model '{model_id}'. Set `aws_region` for "
        "it in the YAML (for example us-east-1), or AWS_REGION / AWS_DEFAULT_REGION in the "
        "environment, or `region` in your AWS profile.",
        status=400,
        type="invalid_request_error",
        code="aws_region_missing",
    )


# --- any provider --------------------------------------------------------------------------


def timeout(model_id: str, region: str | None, seconds: float | None, provider: str) -> GatewayError:
    where = _where(model_id, region) if provider == BEDROCK else f"model '{model_id}'"
    limit = f" after {seconds:g} s" if seconds else ""
    return GatewayError(
        f"The {provider} request for {where} timed out{limit}. Check that the endpoint is "
        "reachable from this machine (network, proxy, VPC endpoint), raise `timeout` if the "
        "answers are long, or lower max_tokens.",
        status=504,
        type="timeout_error",
        code="upstream_timeout",
        retryable=True,
    )


def deadline_exceeded(model_id: str, region: str | None, provider: str, deadline: float, attempts: int) -> GatewayError:
    """:func:`timeout`, said of the gateway's own per-request budget rather than one call's."""
    base = timeout(model_id, region, None, provider)
    return GatewayError(
        f"{base.message} The gateway's per-request deadline (router.deadline = {deadline:g} s) "
        f"ran out after {attempts} attempt{'s' if attempts != 1 else ''}.",
        status=base.status,
        type=base.type,
        code=base.code,
        retryable=True,
    )


def throttled(model_id: str, region: str | None, provider: str, retry_after: float | None = None) -> GatewayError:
    where = _where(model_id, region) if provider == BEDROCK else f"model '{model_id}'"
    wait = f" Retry after {retry_after:g} s." if retry_after else " Retry after a short wait."
    quota = (
        " Request a higher quota in AWS Service Quotas, or spread load over other regions "
        "with a cross-region inference profile."
        if provider == BEDROCK
        else " Check the provider's rate limits for your key."
    )
    return GatewayError(
        f"The {provider} provider is throttling requests for {where}.{wait}{quota}",
        status=429,
        type="rate_limit_error",
        code="rate_limited",
        retryable=True,
        retry_after=retry_after,
    )


def upstream_auth_failed(model_id: str, provider: str, detail: str = "") -> GatewayError:
    reason = f" It said: {detail.rstrip('.')}." if detail else ""
    return GatewayError(
        f"The {provider} provider rejected the API key used for model '{model_id}'.{reason} "
        "Check `api_key` / `api_key_env` for this model (or `api_keys` for the provider) in "
        "the YAML, and that the environment variable it names is set.",
        status=401,
        type="authentication_error",
        code="invalid_api_key",
    )


def upstream_error(model_id: str, provider: str, status: int, detail: str = "") -> GatewayError:
    """An upstream failure not covered above. 4xx stay client errors, the rest become 502."""
    reason = f": {detail}" if detail else ""
    if 400 <= status < 500:
        return GatewayError(
            f"The {provider} provider rejected the request for model '{model_id}' "
            f"(HTTP {status}){reason}",
            status=400 if status not in (404, 413, 422) else status,
            type="invalid_request_error",
            code="upstream_bad_request",
        )
    return GatewayError(
        f"The {provider} provider failed for model '{model_id}' (HTTP {status}){reason}",
        status=502,
        type="api_error",
        code="upstream_error",
        retryable=True,
    )


def upstream_interrupted(model_id: str, provider: str, detail: str = "") -> GatewayError:
    reason = f" ({detail})" if detail else ""
    return GatewayError(
        f"The connection to the {provider} provider for model '{model_id}' broke off before "
        f"the answer was complete{reason}. This is usually transient: retry the request.",
        status=502,
        type="api_error",
        code="upstream_interrupted",
        retryable=True,
    )


def upstream_unreachable(
    model_id: str, provider: str, endpoint: str, detail: str = "", region: str | None = None
) -> GatewayError:
    reason = f" ({detail})" if detail else ""
    where = f"{endpoint} " if endpoint else ""
    # Bedrock's endpoint may be a custom URL (VPC endpoint, stub) that does not show the region.
    model = _where(model_id, region) if provider == BEDROCK else f"model '{model_id}'"
    # For Bedrock a wrong `aws_region` is as likely as a network fault: its host is bedrock-runtime.<region>.
    check = "`aws_region` (is Bedrock offered in that region?), the network, `base_url` if set" if provider == BEDROCK else "the network, `base_url` in the YAML"
    return GatewayError(
        f"Could not connect to the {provider} endpoint {where}for {model}{reason}. Check {check}, and that the service is up.",
        status=502,
        type="api_error",
        code="upstream_unreachable",
        retryable=True,
    )


def replay_missing(detail: str) -> GatewayError:
    return GatewayError(
        "Replay mode: no recording matches this upstream request "
        f"({detail}). Record it once with `--record DIR` against the real provider, "
        "or point --replay at a directory that has it.",
        status=502,
        type="api_error",
        code="replay_not_recorded",
    )


# --- client errors -------------------------------------------------------------------------


def bad_request(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(message, status=400, type="invalid_request_error", code="invalid_request", param=param)


def request_too_large(limit: int) -> GatewayError:
    return GatewayError(
        f"The request body is larger than the gateway's limit of {limit} bytes (serve.max_body_bytes).",
        status=413,
        type="invalid_request_error",
        code="request_too_large",
    )


def gateway_key_invalid() -> GatewayError:
    """The client's key for *this gateway* (``serve.api_keys``), not a provider's."""
    return GatewayError(
        "Missing or invalid gateway API key. Send it as `Authorization: Bearer <key>` or "
        "`x-api-key: <key>` (the keys are in serve.api_keys of the gateway's config).",
        status=401,
        type="authentication_error",
        code="invalid_api_key",
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
        status=429,
        type="insufficient_quota",
        code="budget_exceeded",
        retry_after=math.ceil(retry_after),
    )


def model_not_allowed(name: str, allowed: list[str]) -> GatewayError:
    """The caller's gateway key may not use this model (its ``models`` allow-list)."""
    return GatewayError(
        f"This gateway key may not use the model '{name}'. Allowed: {', '.join(allowed)} "
        "(models in serve.api_keys).",
        status=403,
        type="permission_error",
        code="model_not_allowed",
        param="model",
    )


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def http_error(status: int, method: str, path: str, detail: str) -> GatewayError:
    """A request the HTTP layer refused before any endpoint ran (no such route, wrong method)."""
    return GatewayError(
        f"{method} {path}: {detail}",
        status=status,
        type="invalid_request_error",
        code=_HTTP_CODES.get(status, "http_error"),
    )


def unknown_model(name: str, available: list[str]) -> GatewayError:
    return GatewayError(
        f"The model '{name}' does not exist on this gateway. Available: "
        f"{', '.join(['auto', *available])}.",
        status=404,
        type="invalid_request_error",
        code="model_not_found",
        param="model",
    )


# --- the gateway's own failures ------------------------------------------------------------


def internal_error(what: str = "request") -> GatewayError:
    """A bug or an unforeseen failure: the details go to the log, never to the client."""
    return GatewayError(
        f"The {what} failed unexpectedly; see the gateway log.",
        status=500,
        type="server_error",
        code="internal_error",
    )


# classify() and find_cause() live in llmrouter.error_classify (the catalog does not depend on
# them); they stay reachable as ``errors.classify`` / ``errors.find_cause`` for existing callers.
# Imported on first use, since error_classify imports this module.
def __getattr__(name: str) -> Any:
    if name in ("classify", "find_cause"):
        from llmrouter import error_classify

        return getattr(error_classify, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
