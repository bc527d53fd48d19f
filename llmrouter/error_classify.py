"""Classification: any exception an upstream call raised, as its error-catalog entry.

LiteLLM, botocore, httpx, aiohttp and vcrpy each raise their own exception classes, wrapped
in one another. :func:`classify` maps them onto :mod:`llmrouter.errors` by class *names*
(anywhere in the class hierarchy) and message patterns rather than by classes, so that
importing this module never imports LiteLLM or boto3.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from llmrouter.errors import (
    GatewayError,
    boto3_missing,
    credentials_invalid,
    credentials_missing,
    litellm_missing,
    model_access_denied,
    model_id_invalid,
    parse_retry_after,
    replay_missing,
    throttled,
    timeout,
    upstream_auth_failed,
    upstream_error,
    upstream_interrupted,
    upstream_unreachable,
)
from llmrouter.providers import BEDROCK
from llmrouter.replay_prompts import recorded_hint

__all__ = ["MAX_DETAIL_CHARS", "classify", "find_cause"]

log = logging.getLogger("llmrouter.errors")

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


# Longer provider messages are cut at a word, with "…"; the whole text goes to the log.
MAX_DETAIL_CHARS = 1000


def _upstream_detail(text: str) -> str:
    """The upstream's own message as it wrote it (JSON unescaped), without LiteLLM's wrapping."""
    text = text.split("Traceback (most recent call last)", 1)[0]  # LiteLLM appends its stack
    detail = _json_message(text)
    if detail is None:
        detail = re.sub(r"^litellm\.\w+:\s*(\w+Exception\s*-?\s*)?", "", text)
        detail = " ".join(detail.split())
    detail = detail.strip().rstrip(".")
    if len(detail) <= MAX_DETAIL_CHARS:
        return detail
    log.warning("upstream error message, in full: %s", detail)
    cut = detail[:MAX_DETAIL_CHARS].rsplit(None, 1)[0]
    return f"{cut}…"


def _json_message(text: str) -> str | None:
    """The ``message`` of the first JSON object in ``text`` (``{"message": ...}`` or
    ``{"error": {"message": ...}}``, any case), decoded; None when there is none."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            inner = value.get("error") if isinstance(value.get("error"), dict) else value
            for key in ("message", "Message"):
                if isinstance(inner.get(key), str):
                    return inner[key]
        start = text.find("{", start + 1)
    return None


def _provider_status(exc: BaseException) -> int | None:
    """The HTTP status the provider answered: the innermost one down the chain of causes.

    LiteLLM re-raises a Bedrock 500 as its ServiceUnavailableError (503), with the
    provider's own error (status 500) as the context: that one is what the provider said.
    """
    found: list[int] = []

    def has_status(e: BaseException) -> bool:
        status = getattr(e, "status_code", None)
        if isinstance(status, int):
            found.append(status)
        return False

    find_cause(exc, has_status)
    return found[-1] if found else None


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
    status = _provider_status(exc)
    if not isinstance(status, int):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None) if response is not None else None
    bedrock = provider == BEDROCK

    if name == "CannotOverwriteExistingCassetteException" or "Can't play back this request" in text:
        found = re.search(r"\b(GET|POST|PUT|DELETE) (https?://\S+?)[\s)>]", text)
        if not found:
            return replay_missing("see the gateway log")
        cassette_error = find_cause(exc, lambda e: hasattr(e, "failed_request"))  # LiteLLM may wrap it
        failed = getattr(cassette_error, "failed_request", None)
        hint = recorded_hint(found.group(2), getattr(failed, "body", None))
        return replay_missing(f"{found.group(1)} {found.group(2)}; {hint}")
    if name == "ModuleNotFoundError" and ("boto3" in text or "botocore" in text):
        return boto3_missing()
    if name == "ModuleNotFoundError" and (getattr(exc, "name", None) or "").split(".")[0] in ("litellm", "") and "litellm" in text:
        return litellm_missing()
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


def _retry_after_of(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "headers", None)
    if not headers or not hasattr(headers, "get"):
        return None
    return parse_retry_after(headers.get("retry-after"))
