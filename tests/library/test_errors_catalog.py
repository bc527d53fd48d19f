"""The one error catalog: shapes, statuses, retryability, classification and redaction.

:func:`llmrouter.error_classify.classify` matches exception *names* (so that the catalog never
imports LiteLLM or boto3); the stand-in classes below carry the names and attributes the
real ones have.
"""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from llmrouter import error_classify, errors
from llmrouter.secrets import MASK, register_secret

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
REGION = "eu-central-1"


def _exc(name: str, message: str = "", *, status: int | None = None, headers: dict[str, str] | None = None, bases=(Exception,)):
    """An exception instance whose class is called ``name`` (like LiteLLM's or botocore's)."""
    cls = type(name, bases, {})
    exc = cls(message)
    if status is not None:
        exc.status_code = status
    if headers is not None:
        exc.response = type("Response", (), {"headers": headers, "status_code": status})()
    return exc


def classify_bedrock(exc: BaseException) -> errors.GatewayError:
    return error_classify.classify(exc, provider="bedrock", model_id=MODEL, region=REGION, timeout_s=12)


# --- shape -----------------------------------------------------------------------------------

ALL_ENTRIES = {
    "boto3_missing": (errors.boto3_missing(), 503, "bedrock_dependency_missing"),
    "credentials_missing": (errors.credentials_missing(MODEL, REGION), 401, "aws_credentials_missing"),
    "credentials_invalid": (errors.credentials_invalid(MODEL, REGION), 401, "aws_credentials_invalid"),
    "model_id_invalid": (errors.model_id_invalid(MODEL, REGION), 400, "bedrock_model_id_invalid"),
    "model_access_denied": (errors.model_access_denied(MODEL, REGION), 403, "bedrock_model_access_denied"),
    "region_missing": (errors.region_missing(MODEL), 400, "aws_region_missing"),
    "timeout": (errors.timeout(MODEL, REGION, 12, "bedrock"), 504, "upstream_timeout"),
    "throttled": (errors.throttled(MODEL, REGION, "bedrock", 3), 429, "rate_limited"),
    "upstream_auth_failed": (errors.upstream_auth_failed("gpt-4o", "OpenAI-compatible"), 401, "invalid_api_key"),
    "upstream_4xx": (errors.upstream_error("gpt-4o", "OpenAI-compatible", 400), 400, "upstream_bad_request"),
    "upstream_5xx": (errors.upstream_error("gpt-4o", "OpenAI-compatible", 503), 502, "upstream_error"),
    "unreachable": (errors.upstream_unreachable("m", "OpenAI-compatible", "http://x"), 502, "upstream_unreachable"),
    "unreachable_bedrock": (errors.upstream_unreachable(MODEL, "bedrock", "https://vpce-1.example", region=REGION), 502, "upstream_unreachable"),
    "interrupted": (errors.upstream_interrupted("m", "OpenAI-compatible", "peer closed"), 502, "upstream_interrupted"),
    "replay_missing": (errors.replay_missing("POST http://x/v1/chat/completions"), 502, "replay_not_recorded"),
    "deadline_exceeded": (errors.deadline_exceeded(MODEL, REGION, "bedrock", 30, 2), 504, "upstream_timeout"),
    "bad_request": (errors.bad_request("no query", param="query"), 400, "invalid_request"),
    "unknown_model": (errors.unknown_model("nope", ["a", "b"]), 404, "model_not_found"),
    "request_too_large": (errors.request_too_large(1000), 413, "request_too_large"),
    "gateway_key_invalid": (errors.gateway_key_invalid(), 401, "invalid_api_key"),
    "route_not_found": (errors.http_error(404, "GET", "/v2/nothing", "Not Found"), 404, "not_found"),
    "method_not_allowed": (errors.http_error(405, "GET", "/v1/chat/completions", "Method Not Allowed"), 405, "method_not_allowed"),
    "other_http_error": (errors.http_error(400, "GET", "/x", "Bad Request"), 400, "http_error"),
    "internal_error": (errors.internal_error("stream"), 500, "internal_error"),
}


@pytest.mark.parametrize("name", sorted(ALL_ENTRIES))
def test_every_entry_is_openai_shaped(name):
    err, status, code = ALL_ENTRIES[name]
    body = err.to_dict()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code", "param"}
    assert body["error"]["code"] == code and err.code == code
    assert err.status == status
    assert body["error"]["type"].endswith("_error")
    assert body["error"]["message"] == err.message == str(err)
    assert err.message.strip() and "\n" not in err.message  # one line, for CLI and SSE alike


RETRYABLE = {"timeout", "throttled", "upstream_5xx", "unreachable", "unreachable_bedrock", "interrupted", "deadline_exceeded"}


@pytest.mark.parametrize("name", sorted(ALL_ENTRIES))
def test_only_transient_failures_are_retryable(name):
    err = ALL_ENTRIES[name][0]
    assert err.retryable is (name in RETRYABLE)


@pytest.mark.parametrize(
    "name",
    ["credentials_missing", "credentials_invalid", "model_id_invalid", "model_access_denied", "timeout", "throttled",
     "deadline_exceeded", "unreachable_bedrock"],
)
def test_bedrock_entries_name_model_and_region(name):
    message = ALL_ENTRIES[name][0].message
    assert f"'{MODEL}'" in message and f"'{REGION}'" in message


def test_the_deadline_error_names_the_setting_and_the_attempts():
    message = errors.deadline_exceeded(MODEL, REGION, "bedrock", 0.4, 1).message
    assert "router.deadline = 0.4 s" in message and "after 1 attempt." in message and f"'{REGION}'" in message
    assert "after 3 attempts." in errors.deadline_exceeded("m", None, "OpenAI-compatible", 5, 3).message


def test_the_internal_error_tells_nothing_but_where_to_look():
    assert errors.internal_error().message == "The request failed unexpectedly; see the gateway log."
    assert errors.internal_error("stream").message == "The stream failed unexpectedly; see the gateway log."


def test_unresolved_region_is_said_so():
    assert "region 'unresolved'" in errors.model_id_invalid(MODEL, None).message


def test_actionable_guidance():
    # A plain install has boto3 (LiteLLM brings it): the hint says reinstall, not "add an extra".
    boto3_missing = errors.boto3_missing().message
    assert "pip install boto3" in boto3_missing and "[bedrock]" not in boto3_missing and "LiteLLM" in boto3_missing
    missing = errors.credentials_missing(MODEL, REGION).message
    assert "AWS_ACCESS_KEY_ID" in missing and "aws sso login" in missing and "AWS_PROFILE" in missing
    assert f"list-foundation-models --region {REGION}" in errors.model_id_invalid(MODEL, REGION).message
    assert "Model access" in errors.model_access_denied(MODEL, REGION).message
    assert "aws_region" in errors.region_missing(MODEL).message and "AWS_REGION" in errors.region_missing(MODEL).message
    assert "after 12 s" in errors.timeout(MODEL, REGION, 12, "bedrock").message
    assert "Retry after 3 s" in errors.throttled(MODEL, REGION, "bedrock", 3).message
    assert "Service Quotas" in errors.throttled(MODEL, REGION, "bedrock").message
    assert "Available: auto, a, b" in errors.unknown_model("nope", ["a", "b"]).message


def test_the_catalog_imports_nothing_heavy():
    code = "import sys, llmrouter.errors; print(sorted(m for m in ('litellm', 'boto3', 'botocore', 'httpx') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "[]", done.stderr


# --- classification --------------------------------------------------------------------------


def test_classify_boto3_missing():
    assert classify_bedrock(ModuleNotFoundError("No module named 'boto3'")).code == "bedrock_dependency_missing"


@pytest.mark.parametrize("name", ["ReadTimeout", "ConnectTimeout", "Timeout", "TimeoutError"])
def test_classify_timeouts(name):
    err = classify_bedrock(_exc(name, "timed out"))
    assert err.code == "upstream_timeout" and err.retryable and "after 12 s" in err.message


def test_classify_missing_credentials():
    assert classify_bedrock(_exc("NoCredentialsError", "Unable to locate credentials")).code == "aws_credentials_missing"


def test_classify_bad_token_keeps_aws_words():
    exc = _exc("BadRequestError", 'litellm.BadRequestError: BedrockException - {"message":"The security token included in the request is invalid."}', status=403)
    err = classify_bedrock(exc)
    assert err.code == "aws_credentials_invalid"
    assert "AWS said: The security token included in the request is invalid." in err.message


def test_classify_invalid_model_id():
    exc = _exc("BadRequestError", '{"message":"The provided model identifier is invalid."}', status=400)
    assert classify_bedrock(exc).code == "bedrock_model_id_invalid"


def test_classify_access_denied():
    exc = _exc("PermissionDeniedError", "AccessDeniedException: You don't have access to the model with the specified model ID.", status=403)
    assert classify_bedrock(exc).code == "bedrock_model_access_denied"


def test_classify_throttling_with_retry_after():
    err = classify_bedrock(_exc("RateLimitError", "ThrottlingException: Too many requests", status=429, headers={"retry-after": "7"}))
    assert err.code == "rate_limited" and err.retry_after == 7.0 and err.retryable


def test_classify_openai_compatible_auth():
    err = error_classify.classify(_exc("AuthenticationError", "Incorrect API key provided", status=401), provider="OpenAI-compatible", model_id="gpt-4o")
    assert err.code == "invalid_api_key" and "'gpt-4o'" in err.message


def test_classify_connection_error():
    err = error_classify.classify(_exc("ConnectError", "[Errno 111] Connection refused"), provider="OpenAI-compatible", model_id="m", endpoint="http://127.0.0.1:9/v1")
    assert err.code == "upstream_unreachable" and "http://127.0.0.1:9/v1" in err.message and err.retryable


def test_classify_connection_lost_mid_answer_is_not_called_unreachable():
    err = error_classify.classify(_exc("RemoteProtocolError", "peer closed connection without sending complete message body"), provider="OpenAI-compatible", model_id="m", endpoint="http://127.0.0.1:9/v1")
    assert err.code == "upstream_interrupted" and "broke off" in err.message and err.retryable
    assert "Could not connect" not in err.message


def test_classify_server_error_is_retryable_502():
    err = error_classify.classify(_exc("InternalServerError", "boom", status=500), provider="OpenAI-compatible", model_id="m")
    assert (err.code, err.status, err.retryable) == ("upstream_error", 502, True)


def test_classify_unwraps_midstream_fallback():
    outer = _exc("MidStreamFallbackError", "wrapped")
    outer.original_exception = _exc("BadRequestError", '{"message":"The provided model identifier is invalid."}', status=400)
    assert classify_bedrock(outer).code == "bedrock_model_id_invalid"


def test_classify_passes_catalog_errors_through():
    err = errors.region_missing(MODEL)
    assert classify_bedrock(err) is err


def test_errors_are_built_only_in_the_catalog():
    """One catalog: no other module builds a GatewayError by hand, so the text is the same everywhere."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in sorted([*root.glob("llmrouter/**/*.py"), *root.glob("openclaw_litellm/**/*.py")]):
        if path.parent == root / "llmrouter" / "errors":  # the catalog package itself
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if name == "GatewayError":
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []


# --- cause chains ----------------------------------------------------------------------------


def _wrapped(inner: BaseException, how: str) -> BaseException:
    outer = _exc("APIConnectionError", "litellm.APIConnectionError: wrapped")
    if how == "original_exception":  # LiteLLM keeps the original without chaining
        outer.original_exception = inner
    elif how == "cause":
        outer.__cause__ = inner
    else:
        outer.__context__ = inner
    return outer


@pytest.mark.parametrize("how", ["original_exception", "cause", "context"])
def test_find_cause_walks_every_kind_of_wrapping(how):
    inner = errors.throttled(MODEL, REGION, "bedrock")
    outer = _wrapped(_wrapped(inner, how), "cause")
    assert error_classify.find_cause(outer, lambda e: isinstance(e, errors.GatewayError)) is inner
    assert error_classify.find_cause(outer, lambda e: isinstance(e, KeyError)) is None


def test_find_cause_ends_on_a_cycle():
    a, b = _exc("A"), _exc("B")
    a.__cause__, b.__cause__ = b, a
    assert error_classify.find_cause(a, lambda e: False) is None


def test_classify_finds_a_connect_error_down_the_chain():
    refused = _exc("ConnectError", "All connection attempts failed")
    err = error_classify.classify(_wrapped(refused, "original_exception"), provider="bedrock", model_id=MODEL, region=REGION, endpoint="http://127.0.0.1:9")
    assert err.code == "upstream_unreachable"


async def test_the_bedrock_backend_returns_the_catalog_error_litellm_wrapped():
    from openclaw_litellm.backend import LLMBackend
    from llmrouter.config import OpenClawConfig

    inner = errors.model_id_invalid(MODEL, REGION)

    class FakeLiteLLM:
        utils = types.SimpleNamespace(validate_chat_completion_user_messages=lambda messages: messages)

        async def acompletion(self, **kwargs):
            raise _wrapped(_wrapped(inner, "context"), "original_exception")

    class Ready:
        async def ready(self):
            return FakeLiteLLM()

    config = OpenClawConfig.from_dict({"llms": {"b": {"provider": "bedrock", "model": MODEL, "aws_region": REGION}}})
    backend = LLMBackend(config, Ready())
    with pytest.raises(errors.GatewayError) as caught:
        await backend.complete(config.llms["b"], [{"role": "user", "content": "hi"}], {})
    assert caught.value is inner


# --- no secret in any message ----------------------------------------------------------------


def test_registered_secret_is_masked():
    secret = "catalog-test-secret-5f2c9e"
    register_secret(secret)
    err = errors.upstream_auth_failed("m", "OpenAI-compatible", f"key {secret} rejected")
    assert secret not in err.message and MASK in err.message
    assert secret not in str(err.to_dict())


@pytest.mark.parametrize(
    "leak",
    [
        "Bearer abcdefghijklmnop1234",
        "sk-proj-ABCDEFGHIJKLMNOPQRSTUV",
        "nvapi" + "-ABCDEFGHIJKLMNOPQRSTUVWX",  # built: no key-shaped literal in the tree
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request",
    ],
)
def test_credential_shapes_are_masked(leak):
    err = errors.upstream_error("m", "OpenAI-compatible", 400, f"echo: {leak}")
    secret_part = leak.split(" ", 1)[-1] if leak.startswith(("Bearer", "AWS4")) else leak
    assert secret_part not in err.message


def test_aws_secret_from_the_environment_is_masked(monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLEsessiontoken")
    err = errors.credentials_invalid(MODEL, REGION, "token FwoGZXIvYXdzEXAMPLEsessiontoken expired")
    assert "FwoGZXIvYXdzEXAMPLEsessiontoken" not in err.message


def test_classification_stays_reachable_from_the_catalog_module():
    # Callers written against `errors.classify` / `errors.find_cause` get the same functions.
    assert errors.classify is error_classify.classify
    assert errors.find_cause is error_classify.find_cause
