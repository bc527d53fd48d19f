"""Every catalog error, over HTTP (JSON) and over SSE.

A stream is primed: an error before the first chunk is a plain HTTP error status; an error
after content has gone out ends the stream with ``data: {"error": ...}`` then ``data: [DONE]``.
Upstreams are reference cassettes (Bedrock 400 / 403, OpenAI 401) and loopback servers that
misbehave on purpose (slow, throttling, down, dying mid-stream, echoing secrets).
"""

from __future__ import annotations

import json
import logging
import os

import httpx
import openai
import pytest

from conftest import replay_upstream, sse_events
from loopback import StubReply, converse_body, openai_completion_body, openai_sse_parts, recorded_converse_stream_frames

INVALID_MODEL = "opentelemetry-python-contrib/botocore/test_converse_with_invalid_model.yaml"
INVALID_MODEL_STREAM = "opentelemetry-python-contrib/botocore/test_converse_stream_with_invalid_model.yaml"
BAD_TOKEN = "openllmetry/bedrock-historical-d4c2ca62/test_titan_converse_with_caching.yaml"
OPENAI_401 = "mirascope/test_authentication_error/openai_gpt_4o_completions.yaml"

LEAKY_KEY = "leaky-config-key-5f0c2b7e9a"
HELLO = [{"role": "user", "content": "hello"}]


def _error_json(message: str, **extra: object) -> bytes:
    return json.dumps({"error": {"message": message, **extra}}).encode()


def route(request) -> StubReply:
    """The misbehaving OpenAI-compatible and Bedrock upstreams, chosen by model."""
    if request.path.startswith("/model/"):  # Bedrock Runtime
        model = request.path.split("/")[2]
        if model == "bedrock-slow":
            return StubReply(delay=3, body=converse_body("too late"))
        if model == "bedrock-throttled":
            return StubReply(
                status=429,
                headers={"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "content-type": "application/json"},
                body=b'{"message":"Too many requests, please wait before trying again."}',
            )
        if model == "bedrock-down":
            return StubReply(
                status=503,
                headers={"x-amzn-ErrorType": "ServiceUnavailableException:http://internal.amazon.com/coral/com.amazon.bedrock/", "content-type": "application/json"},
                body=b'{"message":"Bedrock is unable to process your request."}',
            )
        if model == "bedrock-denied":
            return StubReply(
                status=403,
                headers={"x-amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/", "content-type": "application/json"},
                body=b'{"message":"You don\'t have access to the model with the specified model ID."}',
            )
        if model == "bedrock-garbage":  # 200, but the body is not an AWS event stream
            return StubReply(headers={"content-type": "application/vnd.amazon.eventstream"}, parts=[b"this is not an event stream at all"])
        if model == "bedrock-fine" and request.path.endswith("/converse-stream"):  # the recorded answer
            return StubReply(headers={"content-type": "application/vnd.amazon.eventstream"}, parts=recorded_converse_stream_frames())
        if model == "bedrock-fine":
            return StubReply(headers={"content-type": "application/json"}, body=converse_body("fine"))
        if model == "bedrock-dies":  # messageStart and one text delta, then the connection drops
            return StubReply(headers={"content-type": "application/vnd.amazon.eventstream"}, parts=recorded_converse_stream_frames()[:2], abort=True)
        raise AssertionError(f"unexpected Bedrock path {request.path}")
    model = request.json()["model"]
    stream = request.json().get("stream", False)
    if model == "slow":
        return StubReply(delay=3, body=openai_completion_body("too late"))
    if model == "stall":  # the role and some content, then silence past the timeout
        role, hello, finish = openai_sse_parts(["Hello"])[:3]
        return StubReply(headers={"content-type": "text/event-stream"}, parts=[role + hello, finish], interval=3)
    if model == "throttled":
        return StubReply(status=429, headers={"retry-after": "7", "content-type": "application/json"}, body=_error_json("Rate limit reached", type="rate_limit"))
    if model == "down":
        return StubReply(status=503, headers={"content-type": "application/json"}, body=_error_json("Service Unavailable"))
    if model == "dies":
        return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["Hello"])[:2], abort=True)
    if model == "garbage":
        return StubReply(headers={"content-type": "text/event-stream"}, parts=[*openai_sse_parts(["Hello"])[:2], b"data: {this is not json\n\n"])
    if model == "leaky":
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ")
        return StubReply(
            status=401,
            headers={"content-type": "application/json"},
            body=_error_json(f"Invalid header 'Authorization: {auth}'; the key {key} is unknown", code="invalid_api_key"),
        )
    if model == "fine":
        if stream:
            return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["fine"]))
        return StubReply(headers={"content-type": "application/json"}, body=openai_completion_body("fine"))
    raise AssertionError(f"unexpected model {model}")


@pytest.fixture(scope="module")
def up(upstream_factory):
    return upstream_factory(route)


@pytest.fixture(scope="module")
def gw(gateway_factory, up):
    base = f"{up.url}/v1"

    def loop(model: str, **extra: object) -> dict:
        return {"provider": "vllm", "model": model, "base_url": base, **extra}

    def stub(model: str, **extra: object) -> dict:
        return {"provider": "bedrock", "model": model, "aws_region": "us-east-1", "base_url": up.url, **extra}

    return gateway_factory(
        {
            "serve": {"timeout": 1.0, "max_body_bytes": 64 * 1024},
            "llms": {
                "badid": {"provider": "bedrock", "model": "does-not-exist", "aws_region": "us-east-1"},
                "badtoken": {"provider": "bedrock", "model": "amazon.titan-text-express-v1", "aws_region": "us-east-1"},
                "gpt": {"provider": "openai", "model": "gpt-4o", "api_key": "sk-test-not-a-real-key-0000000000000000"},
                "slow": loop("slow", timeout=0.5),
                "slow-serve-timeout": loop("slow"),
                "stall": loop("stall", timeout=0.5),
                "throttled": loop("throttled"),
                "down": loop("down"),
                "dies": loop("dies"),
                "garbage": loop("garbage"),
                "leaky": loop("leaky", api_key=LEAKY_KEY),
                "fine": loop("fine"),
                "bedrock-slow": stub("bedrock-slow", timeout=0.5),
                "bedrock-throttled": stub("bedrock-throttled"),
                "bedrock-down": stub("bedrock-down"),
                "bedrock-dies": stub("bedrock-dies"),
                "bedrock-denied": stub("bedrock-denied"),
                "bedrock-garbage": stub("bedrock-garbage"),
                "bedrock-fine": stub("bedrock-fine"),
                "bedrock-no-region": {"provider": "bedrock", "model": "bedrock-fine", "base_url": up.url},
            },
        },
        prefix=False,
    )



def post(gw, body: object, *, raw: bytes | None = None, stream: bool | None = None) -> httpx.Response:
    if stream is not None:
        body = {**body, "stream": stream}
    if raw is not None:
        return httpx.post(f"{gw.base_url}/chat/completions", content=raw, headers={"content-type": "application/json"}, timeout=30)
    return httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=30)


def error_of(response: httpx.Response, status: int, code: str) -> dict:
    """The OpenAI error object of ``response``, after checking its status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["type"], str) and error["type"]
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in error["message"] and "site-packages" not in error["message"]
    return error


def stream_ended_by_error(response: httpx.Response, code: str) -> tuple[list[dict], dict]:
    """Content chunks, then one error event, then [DONE]; returns (chunks, error)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1
    assert "error" in events[-2], events
    error = events[-2]["error"]
    assert error["code"] == code, error
    assert error["message"] and error["type"]
    assert "Traceback" not in error["message"] and "site-packages" not in error["message"]
    chunks = events[:-2]
    assert chunks and all("error" not in c for c in chunks)
    return chunks, error


def still_serves_bedrock(gw, stream: bool = False) -> None:
    """After a Bedrock failure the next Bedrock request is answered."""
    response = post(gw, {"model": "bedrock-fine", "messages": HELLO}, stream=stream)
    assert response.status_code == 200, response.text
    if stream:
        chunks = sse_events(response.text)
        assert chunks[-1] == "[DONE]" and text_of(chunks[:-1]).strip()
    else:
        assert response.json()["choices"][0]["message"]["content"] == "fine"


def text_of(chunks: list[dict]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


# --- Bedrock: invalid model id, bad token (real recordings; test_faults' copies merged here) ----
#
# Each is played once (the gateway does not retry on its own: router.max_retries is 0) and the
# next Bedrock request is answered.


def test_bedrock_invalid_model_id_http(gw):
    with replay_upstream(INVALID_MODEL) as cassette:
        response = post(gw, {"model": "badid", "messages": HELLO})
    assert cassette.play_count == 1
    error = error_of(response, 400, "bedrock_model_id_invalid")
    assert error["type"] == "invalid_request_error"
    assert "'does-not-exist'" in error["message"] and "'us-east-1'" in error["message"]
    assert "aws bedrock list-foundation-models --region us-east-1" in error["message"]
    still_serves_bedrock(gw)


def test_bedrock_invalid_model_id_sse_before_first_chunk_is_http_status(gw):
    with replay_upstream(INVALID_MODEL_STREAM) as cassette:
        response = post(gw, {"model": "badid", "messages": HELLO}, stream=True)
    assert cassette.play_count == 1
    error = error_of(response, 400, "bedrock_model_id_invalid")
    assert "'does-not-exist'" in error["message"] and "'us-east-1'" in error["message"]
    still_serves_bedrock(gw, stream=True)


def test_bedrock_invalid_model_id_same_text_on_http_and_sse(gw):
    with replay_upstream(INVALID_MODEL):
        http_error = post(gw, {"model": "badid", "messages": HELLO}).json()
    with replay_upstream(INVALID_MODEL_STREAM):
        sse_error = post(gw, {"model": "badid", "messages": HELLO}, stream=True).json()
    assert http_error == sse_error


def test_bedrock_invalid_model_id_with_openai_client(gw):
    with replay_upstream(INVALID_MODEL), pytest.raises(openai.BadRequestError) as caught:
        gw.client().chat.completions.create(model="badid", messages=HELLO)
    assert caught.value.status_code == 400
    assert "does-not-exist" in caught.value.message


def test_bedrock_bad_token_http(gw):
    with replay_upstream(BAD_TOKEN) as cassette:
        response = post(gw, {"model": "badtoken", "messages": HELLO})
    assert cassette.play_count == 1
    error = error_of(response, 401, "aws_credentials_invalid")
    assert error["type"] == "authentication_error"
    assert "amazon.titan-text-express-v1" in error["message"] and "us-east-1" in error["message"]
    assert "security token included in the request is invalid" in error["message"]
    still_serves_bedrock(gw)


def test_bedrock_bad_token_sse(gw, bad_token_stream_cassette):
    with replay_upstream(bad_token_stream_cassette) as cassette:
        response = post(gw, {"model": "badtoken", "messages": HELLO}, stream=True)
    assert cassette.play_count == 1
    error = error_of(response, 401, "aws_credentials_invalid")
    assert "us-east-1" in error["message"]
    still_serves_bedrock(gw, stream=True)


def test_bedrock_bad_token_with_openai_client(gw):
    with replay_upstream(BAD_TOKEN), pytest.raises(openai.AuthenticationError) as caught:
        gw.client().chat.completions.create(model="badtoken", messages=HELLO)
    assert caught.value.status_code == 401


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_model_access_denied_is_403(gw, stream):
    error = error_of(post(gw, {"model": "bedrock-denied", "messages": HELLO}, stream=stream), 403, "bedrock_model_access_denied")
    assert error["type"] == "permission_error"
    assert "'bedrock-denied'" in error["message"] and "'us-east-1'" in error["message"]
    assert "Model access" in error["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_region_missing_is_400(gw, up, stream):
    count = len(up.requests)
    error = error_of(post(gw, {"model": "bedrock-no-region", "messages": HELLO}, stream=stream), 400, "aws_region_missing")
    assert "aws_region" in error["message"] and "AWS_REGION" in error["message"]
    assert len(up.requests) == count, "nothing was sent without a region"


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_credentials_missing_is_401(gw, up, monkeypatch, stream):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    error = error_of(post(gw, {"model": "bedrock-fine", "messages": HELLO}, stream=stream), 401, "aws_credentials_missing")
    assert "'bedrock-fine'" in error["message"] and "'us-east-1'" in error["message"]
    assert "AWS_ACCESS_KEY_ID" in error["message"] and "aws sso login" in error["message"]


def test_bedrock_credentials_found_again_after_they_were_missing(gw, monkeypatch):
    with monkeypatch.context() as patch:
        patch.delenv("AWS_ACCESS_KEY_ID")
        patch.delenv("AWS_SECRET_ACCESS_KEY")
        assert post(gw, {"model": "bedrock-fine", "messages": HELLO}).status_code == 401
    assert post(gw, {"model": "bedrock-fine", "messages": HELLO}).json()["choices"][0]["message"]["content"] == "fine"


def test_bedrock_malformed_event_stream_is_502_without_a_traceback(gw):
    response = post(gw, {"model": "bedrock-garbage", "messages": HELLO}, stream=True)
    assert response.status_code == 502
    error = error_of(response, 502, response.json()["error"]["code"])
    assert error["code"] == "upstream_error"
    assert "'bedrock-garbage'" in error["message"]
    # The client gets the catalog's words and the upstream's, never the gateway's internals.
    assert "Traceback" not in error["message"] and "site-packages" not in error["message"] and 'File "' not in error["message"]


# --- OpenAI 401 ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_openai_401_is_invalid_api_key(gw, stream):
    with replay_upstream(OPENAI_401) as cassette:
        response = post(gw, {"model": "gpt", "messages": HELLO}, stream=stream)
    assert cassette.play_count == 1
    error = error_of(response, 401, "invalid_api_key")
    assert error["type"] == "authentication_error"
    assert "gpt-4o" in error["message"] and "Incorrect API key provided" in error["message"]
    # The provider's words end their sentence before the catalog's guidance starts.
    assert "platform.openai.com/account/api-keys. Check `api_key`" in error["message"]


# --- client errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_unknown_model_name_is_404(gw, stream):
    response = post(gw, {"model": "no-such-model", "messages": HELLO}, stream=stream)
    error = error_of(response, 404, "model_not_found")
    assert error["param"] == "model"
    assert "'no-such-model'" in error["message"] and "auto" in error["message"] and "badid" in error["message"]


def test_unknown_model_with_openai_client(gw):
    with pytest.raises(openai.NotFoundError):
        gw.client().chat.completions.create(model="no-such-model", messages=HELLO)


@pytest.mark.parametrize("raw", [b'{"model": "fine", "messages": [', b"not json at all", b"", b"[1, 2]"])
def test_malformed_json_is_400(gw, raw):
    error = error_of(post(gw, None, raw=raw), 400, "invalid_request")
    assert error["type"] == "invalid_request_error"
    assert "JSON" in error["message"]


@pytest.mark.parametrize(
    ("patch", "param"),
    [
        ({"messages": "hello"}, "messages"),
        ({"stream": "yes"}, "stream"),
        ({"temperature": "hot"}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"model": 7}, "model"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages.0.role"),
        ({"stream_options": {"include_usage": "please"}}, "stream_options.include_usage"),
        ({"model": None}, "model"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_wrong_types_are_400_with_param(gw, patch, param, stream):
    body = {"model": "fine", "messages": HELLO, **patch}
    if stream and "stream" not in patch:
        body["stream"] = True
    error = error_of(post(gw, body), 400, "invalid_request")
    assert error["param"] == param
    assert param in error["message"]


def test_missing_field_is_400_with_param(gw):
    error = error_of(post(gw, {"model": "fine"}), 400, "invalid_request")
    assert error["param"] == "messages" and "required" in error["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_request_too_large_is_413(gw, up, stream):
    count = len(up.requests)
    body = {"model": "fine", "messages": [{"role": "user", "content": "x" * (100 * 1024)}], "stream": stream}
    error = error_of(post(gw, body), 413, "request_too_large")
    assert "max_body_bytes" in error["message"]
    assert len(up.requests) == count


def test_unknown_route_and_method_are_openai_shaped(gw):
    error_of(httpx.get(f"{gw.url}/v1/nothing-here"), 404, "not_found")
    error_of(httpx.get(f"{gw.base_url}/chat/completions"), 405, "method_not_allowed")


# --- timeout ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_timeout_is_504(gw, stream):
    response = post(gw, {"model": "slow", "messages": HELLO}, stream=stream)
    error = error_of(response, 504, "upstream_timeout")
    assert error["type"] == "timeout_error"
    assert "'slow'" in error["message"] and "0.5 s" in error["message"]


def test_serve_timeout_applies_to_models_without_their_own(gw):
    error = error_of(post(gw, {"model": "slow-serve-timeout", "messages": HELLO}), 504, "upstream_timeout")
    assert "after 1 s" in error["message"]


def test_timeout_after_first_chunk_ends_the_stream_with_an_error_event(gw):
    chunks, error = stream_ended_by_error(post(gw, {"model": "stall", "messages": HELLO}, stream=True), "upstream_timeout")
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert text_of(chunks) == "Hello"
    assert all(c["model"] == "stall" for c in chunks)


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_timeout_is_504(gw, stream):
    response = post(gw, {"model": "bedrock-slow", "messages": HELLO}, stream=stream)
    error = error_of(response, 504, "upstream_timeout")
    assert "bedrock-slow" in error["message"] and "us-east-1" in error["message"]


# --- throttling, upstream down ---------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_throttling_is_429_with_retry_after(gw, stream):
    response = post(gw, {"model": "throttled", "messages": HELLO}, stream=stream)
    error = error_of(response, 429, "rate_limited")
    assert error["type"] == "rate_limit_error"
    assert response.headers["retry-after"] == "7"
    assert "Retry after 7 s" in error["message"]


def test_throttling_with_openai_client(gw):
    with pytest.raises(openai.RateLimitError) as caught:
        gw.client().chat.completions.create(model="throttled", messages=HELLO)
    assert caught.value.response.headers["retry-after"] == "7"


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_throttling_is_429(gw, stream):
    response = post(gw, {"model": "bedrock-throttled", "messages": HELLO}, stream=stream)
    error = error_of(response, 429, "rate_limited")
    assert "bedrock-throttled" in error["message"] and "us-east-1" in error["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_503_is_502(gw, stream):
    response = post(gw, {"model": "down", "messages": HELLO}, stream=stream)
    error = error_of(response, 502, "upstream_error")
    assert "HTTP 503" in error["message"] and "Service Unavailable" in error["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_bedrock_503_is_502(gw, stream):
    response = post(gw, {"model": "bedrock-down", "messages": HELLO}, stream=stream)
    error = error_of(response, 502, "upstream_error")
    assert "bedrock-down" in error["message"]


# --- failures after the stream has started ----------------------------------------------------


def test_upstream_dropping_the_connection_mid_stream(gw):
    response = post(gw, {"model": "dies", "messages": HELLO}, stream=True)
    chunks, error = stream_ended_by_error(response, error_code_for_drop(response))
    assert text_of(chunks) == "Hello"
    assert "'dies'" in error["message"]


def error_code_for_drop(response: httpx.Response) -> str:
    """A dropped connection is an upstream failure (502 family); the code names which."""
    events = sse_events(response.text)
    code = events[-2]["error"]["code"] if len(events) >= 2 and isinstance(events[-2], dict) and "error" in events[-2] else None
    assert code == "upstream_interrupted", events
    return code


def test_upstream_sending_garbage_mid_stream(gw):
    chunks, error = stream_ended_by_error(post(gw, {"model": "garbage", "messages": HELLO}, stream=True), "upstream_error")
    assert text_of(chunks) == "Hello"
    assert "not JSON" in error["message"]


def test_bedrock_dropping_the_connection_mid_stream(gw):
    response = post(gw, {"model": "bedrock-dies", "messages": HELLO}, stream=True)
    chunks, error = stream_ended_by_error(response, error_code_for_drop(response))
    assert text_of(chunks) == "I am here and ready to assist"


def test_mid_stream_error_reaches_the_openai_client(gw):
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in gw.client().chat.completions.create(model="garbage", messages=HELLO, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Hello"
    assert "not JSON" in caught.value.message


def test_the_gateway_still_serves_after_failures(gw):
    post(gw, {"model": "dies", "messages": HELLO}, stream=True)
    assert gw.client().chat.completions.create(model="fine", messages=HELLO).choices[0].message.content == "fine"


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_api_key_echoed_by_the_upstream_never_leaks(gw, up, caplog, stream):
    caplog.set_level(logging.DEBUG)
    response = post(gw, {"model": "leaky", "messages": HELLO}, stream=stream)
    # The upstream did receive the key (so the echo really contained it)...
    assert up.requests[-1].headers["authorization"] == f"Bearer {LEAKY_KEY}"
    # ...and the gateway reports the failure without it, in the body and in its logs.
    error = error_of(response, 401, "invalid_api_key")
    assert LEAKY_KEY not in response.text
    assert "***" in error["message"]
    # The provider's words (which had no final period) end their sentence before the guidance.
    assert "the key *** is unknown. Check `api_key`" in error["message"]
    assert LEAKY_KEY not in caplog.text
    assert all(LEAKY_KEY not in str(r.args) for r in caplog.records)
    # The capture did see the gateway's own upstream traffic (so it would have seen a leak).
    assert any(f"port={up.port}" in r.getMessage() for r in caplog.records)


def test_aws_secret_never_leaks_from_a_bedrock_failure(gw, caplog, bad_token_stream_cassette):
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    caplog.set_level(logging.DEBUG)
    with replay_upstream(BAD_TOKEN):
        http_response = post(gw, {"model": "badtoken", "messages": HELLO})
    with replay_upstream(bad_token_stream_cassette):
        sse_response = post(gw, {"model": "badtoken", "messages": HELLO}, stream=True)
    assert http_response.status_code == sse_response.status_code == 401
    for text in (http_response.text, sse_response.text, caplog.text):
        assert secret not in text
    assert any("badtoken" in r.getMessage() or "titan-text-express" in r.getMessage() for r in caplog.records)
