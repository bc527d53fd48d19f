"""Upstream faults: each ends in the catalog's error, with the right status, within its
deadline, and the next request works.

OpenAI-compatible faults come from :class:`FaultUpstream` (a loopback upstream that refuses,
resets, hangs, fails, throttles, sends garbage, or ends a stream without ``[DONE]``); Bedrock
faults are a SYNTHETIC 429 ThrottlingException (cassettes/synthetic/) built from the
documented wire shape, since no public recording of one exists, and an endpoint that refuses.
The real Bedrock 400 (invalid model id) and 403 (bad token) recordings are checked in
tests/test_server_errors.py. ``router.deadline`` cutting a hang: tests/test_fallback.py.

What the client receives for each fault is the table in docs/hardening.md. A failure before
the first byte of a stream is an HTTP error status (the stream is primed); after it, the SSE
stream ends with ``data: {"error": ...}`` then ``data: [DONE]``.

Decision for a stream that ends without ``[DONE]``: if a ``finish_reason`` was seen the answer
was complete, and the client gets a normal ending (with ``[DONE]``); otherwise the answer was
cut short and the client gets ``upstream_interrupted`` (502 family, retryable).
"""

from __future__ import annotations

import time

import httpx
import pytest

from conftest import CASSETTES, replay_upstream, sse_events
from fault_upstream import closed_port

TIMEOUT = 1.0  # serve.timeout of the gateway under test
QUICK = 1.5  # seconds within which a fault that needs no timeout must be reported
HELLO = [{"role": "user", "content": "hello"}]

THROTTLED = CASSETTES / "synthetic" / "bedrock_throttling_429_SYNTHETIC.yaml"
TITAN_OK = "opentelemetry-python-contrib/botocore/test_converse_with_content.yaml"
TITAN_OK_STREAM = "opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml"


@pytest.fixture(scope="module")
def gw(gateway_factory, up):
    base = f"{up.url}/v1"
    faults = ["ok", "reset-before", "reset-mid", "hang", "hang-mid", "http-500", "http-503", "http-429", "bad-json", "bad-shape",
              "no-done-finished", "no-done-cut"]
    llms = {name: {"provider": "vllm", "model": name, "base_url": base} for name in faults}
    llms["refused"] = {"provider": "vllm", "model": "ok", "base_url": f"http://127.0.0.1:{closed_port()}/v1"}
    bedrock = {"provider": "bedrock", "aws_region": "us-east-1"}
    llms.update({
        "throttled": {**bedrock, "model": "amazon.titan-text-express-v1"},
        "titan": {**bedrock, "model": "amazon.titan-text-lite-v1"},
        "bedrock-refused": {**bedrock, "model": "amazon.titan-text-lite-v1", "base_url": f"http://127.0.0.1:{closed_port()}"},
    })
    return gateway_factory({"serve": {"timeout": TIMEOUT}, "llms": llms}, prefix=False)


def chat(gw, model: str, stream: bool) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{gw.base_url}/chat/completions", json={"model": model, "messages": HELLO, "stream": stream}, timeout=30)
    return response, time.monotonic() - started


def http_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"] and error["type"] and "Traceback" not in error["message"]
    return error


def sse_error(response: httpx.Response, code: str) -> tuple[str, dict]:
    """(text streamed before the error, the error event) of a stream cut by a failure."""
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1, events
    assert "error" in events[-2], events
    assert events[-2]["error"]["code"] == code, events[-2]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-2] if e.get("choices"))
    return text, events[-2]["error"]


def answered(gw, model: str = "ok", stream: bool = False) -> str:
    """The next request's answer text (the gateway still serves after a fault)."""
    response, elapsed = chat(gw, model, stream)
    assert response.status_code == 200, response.text
    assert elapsed < QUICK
    if not stream:
        return response.json()["choices"][0]["message"]["content"]
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and not any("error" in e for e in events[:-1] if isinstance(e, dict))
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1] if e.get("choices"))


# (model, stream) -> (status before the first byte | None if the stream started, code, deadline in s)
OPENAI_FAULTS = {
    ("refused", False): (502, "upstream_unreachable", QUICK),
    ("refused", True): (502, "upstream_unreachable", QUICK),
    ("reset-before", False): (502, "upstream_interrupted", QUICK),
    ("reset-before", True): (502, "upstream_interrupted", QUICK),
    ("reset-mid", False): (502, "upstream_interrupted", QUICK),
    ("reset-mid", True): (None, "upstream_interrupted", QUICK),
    ("hang", False): (504, "upstream_timeout", TIMEOUT + QUICK),
    ("hang", True): (504, "upstream_timeout", TIMEOUT + QUICK),
    ("hang-mid", False): (504, "upstream_timeout", TIMEOUT + QUICK),
    ("hang-mid", True): (None, "upstream_timeout", TIMEOUT + QUICK),
    ("http-500", False): (502, "upstream_error", QUICK),
    ("http-500", True): (502, "upstream_error", QUICK),
    ("http-503", False): (502, "upstream_error", QUICK),
    ("http-503", True): (502, "upstream_error", QUICK),
    ("http-429", False): (429, "rate_limited", QUICK),
    ("http-429", True): (429, "rate_limited", QUICK),
    ("bad-json", False): (502, "upstream_error", QUICK),
    ("bad-json", True): (None, "upstream_error", QUICK),
    ("bad-shape", False): (502, "upstream_error", QUICK),
    ("bad-shape", True): (502, "upstream_error", QUICK),
    ("no-done-cut", True): (None, "upstream_interrupted", QUICK),
}


@pytest.mark.parametrize(("model", "stream"), list(OPENAI_FAULTS), ids=[f"{m}-{'sse' if s else 'json'}" for m, s in OPENAI_FAULTS])
def test_openai_compatible_fault(gw, model, stream):
    status, code, deadline = OPENAI_FAULTS[(model, stream)]
    response, elapsed = chat(gw, model, stream)
    if status is None:
        text, error = sse_error(response, code)
        assert text == "Hello", "what was streamed before the failure reached the client"
    else:
        error = http_error(response, status, code)
    assert f"'{model if model != 'refused' else 'ok'}'" in error["message"], error["message"]
    assert elapsed < deadline, f"{model}: {elapsed:.2f} s"
    if code == "upstream_timeout":
        assert elapsed >= TIMEOUT * 0.9
    if code == "rate_limited":
        assert response.headers["retry-after"] == "2" and "Retry after 2 s" in error["message"]
    if code == "upstream_unreachable":
        assert "Could not connect" in error["message"] and "base_url" in error["message"]
    assert answered(gw, "ok", stream) == "Hello world"


def test_stream_without_done_but_with_a_finish_reason_ends_cleanly(gw):
    response, elapsed = chat(gw, "no-done-finished", True)
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and not any("error" in e for e in events[:-1])
    assert [e["choices"][0]["finish_reason"] for e in events[:-1] if e.get("choices")][-1] == "stop"
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1] if e.get("choices")) == "Hello world"
    assert elapsed < QUICK


def test_stream_cut_without_done_is_reported_with_the_reason(gw):
    _, error = sse_error(chat(gw, "no-done-cut", True)[0], "upstream_interrupted")
    assert "without a finish_reason or [DONE]" in error["message"]


def test_the_upstream_connection_pool_survives_every_fault(gw, up):
    """After all the faults above, ok requests still reuse kept-alive connections."""
    for _ in range(3):
        assert answered(gw, "ok") == "Hello world"
    ok = up.conns_for("ok")
    assert ok and max(c.completed for c in ok) >= 2, "keep-alive connections were not reused"


# --- Bedrock: SYNTHETIC 429, a refused endpoint ------------------------------------------



@pytest.fixture(scope="module")
def bedrock_warm(gw):
    """One Bedrock answer first, so that LiteLLM's import (seconds) is not timed as a fault."""
    with replay_upstream(TITAN_OK):
        response = httpx.post(f"{gw.base_url}/chat/completions", json={"model": "titan", "messages": HELLO}, timeout=120)
    assert response.status_code == 200, response.text


BEDROCK_FAULTS = {
    ("throttled", False): (THROTTLED, 429, "rate_limited"),
    ("throttled", True): (THROTTLED, 429, "rate_limited"),
    ("bedrock-refused", False): (None, 502, "upstream_unreachable"),
    ("bedrock-refused", True): (None, 502, "upstream_unreachable"),
}


@pytest.mark.parametrize(("model", "stream"), list(BEDROCK_FAULTS), ids=[f"{m}-{'sse' if s else 'json'}" for m, s in BEDROCK_FAULTS])
def test_bedrock_fault(gw, bedrock_warm, model, stream):
    cassette, status, code = BEDROCK_FAULTS[(model, stream)]
    if cassette is None:
        response, elapsed = chat(gw, model, stream)
    else:
        with replay_upstream(cassette) as played:
            response, elapsed = chat(gw, model, stream)
        assert played.play_count == 1, "the gateway retried on its own (router.max_retries is 0)"
    error = http_error(response, status, code)
    assert "us-east-1" in error["message"]
    if code == "upstream_unreachable":  # the endpoint it could not reach, as configured
        assert f"endpoint {gw.config.llms[model].base_url} " in error["message"]
    if code == "rate_limited":
        assert error["type"] == "rate_limit_error"
        assert "amazon.titan-text-express-v1" in error["message"] and "Service Quotas" in error["message"]
    assert elapsed < QUICK, f"{model}: {elapsed:.2f} s"
    # The next Bedrock request works.
    with replay_upstream(TITAN_OK_STREAM if stream else TITAN_OK):
        assert answered(gw, "titan", stream).strip()
