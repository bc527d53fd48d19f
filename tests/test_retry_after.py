"""Retry-After: one parser (``errors.parse_retry_after``) for every path, and only sane values.

A provider's header reaches the client's ``retry-after`` header, the error message, the
model's cooldown and the retry sleep; negative, NaN or infinite values must reach none of them.
"""

from __future__ import annotations

import json
import math

import httpx
import pytest

from loopback import StubReply
from llmrouter import errors

HELLO = [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0), (" 2.5 ", 2.5), ("0", 0.0), (b"3", 3.0), (12, 12.0),
        ("99999", errors.MAX_RETRY_AFTER), ("1e9", errors.MAX_RETRY_AFTER),
        ("-5", None), ("nan", None), ("NaN", None), ("inf", None), ("-inf", None), ("1e999", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("", None), ("soon", None), (None, None),
    ],
)
def test_parse_retry_after_accepts_only_finite_non_negative_seconds(value, expected):
    parsed = errors.parse_retry_after(value)
    assert parsed == expected
    assert parsed is None or (math.isfinite(parsed) and 0 <= parsed <= errors.MAX_RETRY_AFTER)


@pytest.mark.parametrize("header", ["nan", "-5", "inf", "1e999"])
def test_classify_drops_a_nonsense_retry_after(header):
    exc = type("RateLimitError", (Exception,), {})("Too many requests")
    exc.status_code = 429
    exc.response = type("Response", (), {"headers": {"retry-after": header}, "status_code": 429})()
    err = errors.classify(exc, provider="OpenAI-compatible", model_id="m")
    assert err.code == "rate_limited" and err.retry_after is None
    assert "Retry after a short wait." in err.message and header not in err.message


RETRY_AFTER = {"nan": "nan", "negative": "-5", "inf": "inf", "huge": "99999", "fine": "7"}


@pytest.fixture(scope="module")
def gw(gateway_factory, upstream_factory):
    def route(request) -> StubReply:
        value = RETRY_AFTER[request.json()["model"]]
        body = json.dumps({"error": {"message": "Rate limit reached"}}).encode()
        return StubReply(status=429, headers={"retry-after": value, "content-type": "application/json"}, body=body)

    up = upstream_factory(route)
    llms = {name: {"provider": "vllm", "model": name, "base_url": f"{up.url}/v1"} for name in RETRY_AFTER}
    return gateway_factory({"router": {"max_retries": 1, "deadline": 5}, "llms": llms}, prefix=False)


@pytest.mark.parametrize(
    ("model", "header", "said"),
    [("nan", None, "Retry after a short wait."), ("negative", None, "Retry after a short wait."),
     ("inf", None, "Retry after a short wait."), ("huge", "3600", "Retry after 3600 s."), ("fine", "7", "Retry after 7 s.")],
)
def test_the_client_sees_only_a_sane_retry_after(gw, model, header, said):
    response = httpx.post(f"{gw.base_url}/chat/completions", json={"model": model, "messages": HELLO}, timeout=30)
    assert response.status_code == 429, response.text
    assert response.headers.get("retry-after") == header
    assert said in response.json()["error"]["message"]
