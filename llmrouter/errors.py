"""The one error catalog.

Every failure the CLI or the gateway can report becomes a :class:`GatewayError`: an HTTP
status, an OpenAI error ``type`` and ``code``, and a message that tells the user how to fix
it. The same text is printed by ``llmrouter infer``, returned as JSON by the server, and sent
as an SSE / WebSocket error event, because all of them render this one object.

Messages name the model id and the AWS region used, never a secret: every message passes
through :func:`llmrouter.secrets.redact` on its way out.

:func:`classify` turns whatever an upstream call raised (LiteLLM, botocore, httpx) into a
catalog entry. It matches exception *names* rather than classes so that importing this
module never imports LiteLLM or boto3.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

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
    "model_access_denied",
    "model_id_invalid",
    "model_not_allowed",
    "parse_retry_after",
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
        self.message = redact(message)
        super().__init__(self.message)
        self.status = status
        self.type = type
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        self.param = param

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
        "AWS Bedrock needs boto3, which is not installed. Install it with "
        "`pip install 'llmrouter[bedrock]'` (or `pip install boto3`) in the same environment "
        "as llmrouter, then retry.",
        status=503,
        type="server_error",
        code="bedrock_dependency_missing",
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
    where = _where(model_id, region) if provider == "bedrock" else f"model '{model_id}'"
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
    where = _where(model_id, region) if provider == "bedrock" else f"model '{model_id}'"
    wait = f" Retry after {retry_after:g} s." if retry_after else " Retry after a short wait."
    quota = (
        " Request a higher quota in AWS Service Quotas, or spread load over other regions "
        "with a cross-region inference profile."
        if provider == "bedrock"
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
    model = _where(model_id, region) if provider == "bedrock" else f"model '{model_id}'"
    return GatewayError(
        f"Could not connect to the {provider} endpoint {where}for {model}"
        f"{reason}. Check the network, `base_url` in the YAML, and that the service is up.",
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


# --- classification of raised exceptions ---------------------------------------------------

_CRED_MISSING = re.compile(r"Unable to locate credentials|NoCredentials|could not find credentials", re.I)
_TOKEN_INVALID = re.compile(
    r"security token included in the request is (invalid|expired)|UnrecognizedClient|"
    r"InvalidSignature|signature we calculated does not match|ExpiredToken|token has expired",
    re.I,
)
_MODEL_INVALID = re.compile(r"provided model identifier is invalid|model identifier|Could not resolve the foundation model", re.I)
_ACCESS_DENIED = re.compile(r"AccessDenied|don't have access to the model|not authorized|on-demand throughput", re.I)
# Failures to open a connection: nothing was sent, the endpoint is wrong or down.
_CONNECT_ERRORS = {"ConnectError", "ClientConnectorError", "EndpointConnectionError", "ConnectionRefusedError"}
_CONNECT_TEXT = re.compile(
    r"connect call failed|cannot connect to host|connection refused|all connection attempts failed|"
    r"name or service not known|nodename nor servname|temporary failure in name resolution|could not connect",
    re.I,
)
_MALFORMED_TEXT = re.compile(r"checksum mismatch|malformed|could not decode|invalid (payload|json)|JSONDecodeError", re.I)
# Failures of an open connection: the provider went away mid-answer.
_TRANSPORT_ERRORS = {"ConnectionError", "APIConnectionError", "RemoteProtocolError", "ReadError", "ClientPayloadError"}
_THROTTLED = re.compile(r"Throttl|Too many requests|rate limit", re.I)


def _upstream_detail(text: str) -> str:
    """The upstream's own message, without LiteLLM's wrapping, short and on one line."""
    text = text.split("Traceback (most recent call last)", 1)[0]  # LiteLLM appends its stack
    match = re.search(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    detail = match.group(1) if match else re.sub(r"^litellm\.\w+:\s*(\w+Exception\s*-?\s*)?", "", text)
    detail = " ".join(detail.split()).rstrip(".")
    return detail[:300]


def classify(
    exc: BaseException,
    *,
    provider: str,
    model_id: str,
    region: str | None = None,
    endpoint: str = "",
    timeout_s: float | None = None,
) -> GatewayError:
    """Map any exception raised by an upstream call to its catalog entry."""
    if isinstance(exc, GatewayError):
        return exc
    # LiteLLM wraps streaming failures; the cause carries the real status.
    inner = getattr(exc, "original_exception", None)
    if inner is not None and type(exc).__name__ == "MidStreamFallbackError":
        return classify(inner, provider=provider, model_id=model_id, region=region, endpoint=endpoint, timeout_s=timeout_s)

    name = type(exc).__name__
    names = _class_names(exc)
    text = str(exc)
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None) if response is not None else None
    bedrock = provider == "bedrock"

    if name == "CannotOverwriteExistingCassetteException" or "Can't play back this request" in text:
        found = re.search(r"\b(GET|POST|PUT|DELETE) (https?://\S+?)[\s)>]", text)
        return replay_missing(f"{found.group(1)} {found.group(2)}" if found else "see the gateway log")
    if name == "ModuleNotFoundError" and ("boto3" in text or "botocore" in text):
        return boto3_missing()
    if names & {"Timeout", "TimeoutException", "ReadTimeout", "ConnectTimeout", "TimeoutError", "ReadTimeoutError"} or status == 408:
        return timeout(model_id, region, timeout_s, provider)
    if bedrock and (name in {"NoCredentialsError", "PartialCredentialsError"} or _CRED_MISSING.search(text)):
        return credentials_missing(model_id, region)
    if status == 429 or (names & {"RateLimitError"}) or (bedrock and _THROTTLED.search(text)):
        return throttled(model_id, region, provider, _retry_after_of(exc))
    if bedrock and _TOKEN_INVALID.search(text):
        return credentials_invalid(model_id, region, _upstream_detail(text))
    if bedrock and _MODEL_INVALID.search(text):
        return model_id_invalid(model_id, region)
    if bedrock and (status == 403 or _ACCESS_DENIED.search(text)):
        return model_access_denied(model_id, region, _upstream_detail(text))
    if status in (401, 403) or names & {"AuthenticationError", "PermissionDeniedError"}:
        if bedrock:
            return credentials_invalid(model_id, region, _upstream_detail(text))
        return upstream_auth_failed(model_id, provider, _upstream_detail(text))
    # LiteLLM labels connection failures with status 500 (503 when streaming from Bedrock):
    # the class names, here or down the chain of causes, are what count.
    if find_cause(exc, lambda e: bool(_class_names(e) & _CONNECT_ERRORS)) is not None:
        return upstream_unreachable(model_id, provider, endpoint, _upstream_detail(text), region)
    if names & (_CONNECT_ERRORS | _TRANSPORT_ERRORS) and (status is None or "APIConnectionError" in names):
        if names & _CONNECT_ERRORS or _CONNECT_TEXT.search(text):
            return upstream_unreachable(model_id, provider, endpoint, _upstream_detail(text), region)
        if _MALFORMED_TEXT.search(text):  # the bytes arrived, but they are not a valid answer
            return upstream_error(model_id, provider, 502, _upstream_detail(text))
        return upstream_interrupted(model_id, provider, _upstream_detail(text))
    if isinstance(status, int):
        return upstream_error(model_id, provider, status, _upstream_detail(text))
    return upstream_error(model_id, provider, 502, _upstream_detail(text) or name)


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def find_cause(exc: BaseException, match: Callable[[BaseException], bool], limit: int = 16) -> BaseException | None:
    """The first of ``exc`` and the exceptions it wraps that ``match`` accepts, or None.

    Wrapped means LiteLLM's ``original_exception`` first (LiteLLM re-raises without chaining),
    then ``__cause__``, then ``__context__``. Cycles and very deep chains end the walk.
    """
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen and len(seen) < limit:
        if match(current):
            return current
        seen.add(id(current))
        current = getattr(current, "original_exception", None) or current.__cause__ or current.__context__
    return None


MAX_RETRY_AFTER = 3600.0  # seconds: a provider asking for more is capped, not obeyed for hours


def parse_retry_after(value: str | bytes | float | None) -> float | None:
    """A ``Retry-After`` header's delay in seconds, or None when it is not one.

    Only delta-seconds are understood. Anything else (an HTTP date, garbage, a negative
    number, NaN, infinity) is None, so that no nonsense reaches a response header, a model's
    cooldown or a sleep. Larger values are capped at :data:`MAX_RETRY_AFTER`.
    """
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


def _retry_after_of(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "headers", None)
    if not headers or not hasattr(headers, "get"):
        return None
    return parse_retry_after(headers.get("retry-after"))
