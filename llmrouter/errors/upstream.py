"""The catalog, any provider: timeouts, throttling, refused keys, provider errors, broken streams."""

from __future__ import annotations

from llmrouter.errors.base import GatewayError, model_in_region
from llmrouter.providers import BEDROCK

__all__ = [
    "deadline_exceeded",
    "replay_missing",
    "throttled",
    "timeout",
    "upstream_auth_failed",
    "upstream_error",
    "upstream_interrupted",
    "upstream_unreachable",
]


def _which(model_id: str, region: str | None, provider: str) -> str:
    """How a message names the model: with its region for Bedrock, where the region matters."""
    return model_in_region(model_id, region) if provider == BEDROCK else f"model '{model_id}'"


def timeout(model_id: str, region: str | None, seconds: float | None, provider: str) -> GatewayError:
    where = _which(model_id, region, provider)
    limit = f" after {seconds:g} s" if seconds else ""
    return GatewayError(
        f"The {provider} request for {where} timed out{limit}. Check that the endpoint is "
        "reachable from this machine (network, proxy, VPC endpoint), raise `timeout` if the "
        "answers are long, or lower max_tokens.",
        status=504, type="timeout_error", code="upstream_timeout",
        retryable=True,
    )

def deadline_exceeded(model_id: str, region: str | None, provider: str, deadline: float, attempts: int) -> GatewayError:
    """:func:`timeout`, said of the gateway's own per-request budget rather than one call's."""
    base = timeout(model_id, region, None, provider)
    return GatewayError(
        f"{base.message} The gateway's per-request deadline (router.deadline = {deadline:g} s) "
        f"ran out after {attempts} attempt{'s' if attempts != 1 else ''}.",
        status=base.status, type=base.type, code=base.code,
        retryable=True,
    )


def throttled(model_id: str, region: str | None, provider: str, retry_after: float | None = None) -> GatewayError:
    where = _which(model_id, region, provider)
    wait = f" Retry after {retry_after:g} s." if retry_after else " Retry after a short wait."
    quota = (
        " Request a higher quota in AWS Service Quotas, or spread load over other regions "
        "with a cross-region inference profile."
        if provider == BEDROCK
        else " Check the provider's rate limits for your key."
    )
    return GatewayError(
        f"The {provider} provider is throttling requests for {where}.{wait}{quota}",
        status=429, type="rate_limit_error", code="rate_limited",
        retryable=True,
        retry_after=retry_after,
    )


def upstream_auth_failed(model_id: str, provider: str, detail: str = "") -> GatewayError:
    reason = f" It said: {detail.rstrip('.')}." if detail else ""
    return GatewayError(
        f"The {provider} provider rejected the API key used for model '{model_id}'.{reason} "
        "Check `api_key` / `api_key_env` for this model (or `api_keys` for the provider) in "
        "the YAML, and that the environment variable it names is set.",
        status=401, type="authentication_error", code="invalid_api_key",
    )


def upstream_error(model_id: str, provider: str, status: int, detail: str = "") -> GatewayError:
    """An upstream failure not covered above. 4xx stay client errors, the rest become 502."""
    reason = f": {detail}" if detail else ""
    if 400 <= status < 500:
        return GatewayError(
            f"The {provider} provider rejected the request for model '{model_id}' "
            f"(HTTP {status}){reason}",
            status=400 if status not in (404, 413, 422) else status, type="invalid_request_error", code="upstream_bad_request",
        )
    return GatewayError(
        f"The {provider} provider failed for model '{model_id}' (HTTP {status}){reason}",
        status=502, type="api_error", code="upstream_error",
        retryable=True,
    )


def upstream_interrupted(model_id: str, provider: str, detail: str = "") -> GatewayError:
    reason = f" ({detail})" if detail else ""
    return GatewayError(
        f"The connection to the {provider} provider for model '{model_id}' broke off before "
        f"the answer was complete{reason}. This is usually transient: retry the request.",
        status=502, type="api_error", code="upstream_interrupted",
        retryable=True,
    )


def upstream_unreachable(
    model_id: str, provider: str, endpoint: str, detail: str = "", region: str | None = None
) -> GatewayError:
    reason = f" ({detail})" if detail else ""
    where = f"{endpoint} " if endpoint else ""
    # Bedrock's endpoint may be a custom URL (VPC endpoint, stub) that does not show the region.
    model = _which(model_id, region, provider)
    # For Bedrock a wrong `aws_region` is as likely as a network fault: its host is bedrock-runtime.<region>.
    check = "`aws_region` (is Bedrock offered in that region?), the network, `base_url` if set" if provider == BEDROCK else "the network, `base_url` in the YAML"
    return GatewayError(
        f"Could not connect to the {provider} endpoint {where}for {model}{reason}. Check {check}, and that the service is up.",
        status=502, type="api_error", code="upstream_unreachable",
        retryable=True,
    )


def replay_missing(detail: str) -> GatewayError:
    return GatewayError(
        "Replay mode: no recording matches this upstream request "
        f"({detail}). Record it once with `--record DIR` against the real provider, "
        "or point --replay at a directory that has it.",
        status=502, type="api_error", code="replay_not_recorded",
    )
