"""A Bedrock error message reaches every client as Bedrock wrote it, with Bedrock's status.

A loopback Bedrock Runtime answers HTTP 500 with ``{"message": ...}`` holding quotes,
non-ASCII and a newline. JSON, SSE and WebSocket clients must read that text unescaped and
whole (not ``\\"``, ``\\u00e9`` or a literal ``\\n``), with "(HTTP 500)", not LiteLLM's 503.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from conftest import sse_events
from loopback import StubReply

MESSAGE = 'The model said "no" to café — twice.\nSecond line: voilà'


def bedrock_500(message: str):
    def route(req):  # noqa: ANN001, ANN202
        return StubReply(
            status=500,
            body=json.dumps({"message": message}).encode(),
            headers={"content-type": "application/json", "x-amzn-errortype": "InternalServerException"},
        )
    return route


@pytest.fixture(scope="module")
def gw(gateway_factory, upstream_factory):
    stub = upstream_factory(bedrock_500(MESSAGE))
    long_stub = upstream_factory(bedrock_500("word " * 400 + "tail-end"))
    return gateway_factory({"llms": {
        "titan": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1", "base_url": stub.url},
        "wordy": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1", "base_url": long_stub.url},
    }})


def ask(model: str = "titan", **extra: object) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def assert_readable(error: dict) -> None:
    message = error["message"]
    assert MESSAGE in message, message  # quotes, non-ASCII and the newline, as written
    assert "\\u00e9" not in message and '\\"' not in message and "\\n" not in message
    assert "(HTTP 500)" in message and "bedrock" in message


def test_json_clients_read_it(gw):
    response = httpx.post(f"{gw.base_url}/chat/completions", json=ask(), timeout=60)
    assert response.status_code == 502
    assert_readable(response.json()["error"])


def test_sse_clients_read_it(gw):
    response = httpx.post(f"{gw.base_url}/chat/completions", json=ask(stream=True), timeout=60)
    body = response.json() if response.headers["content-type"].startswith("application/json") else None
    error = body["error"] if body else next(e["error"] for e in sse_events(response.text) if isinstance(e, dict) and "error" in e)
    assert_readable(error)


def test_websocket_clients_read_it(gw):
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{gw.port}/v1/chat/ws") as ws:
        ws.send(json.dumps(ask()))
        first = ws.recv()
        assert ws.recv() == "data: [DONE]\n\n"
    assert_readable(json.loads(first[len("data: "):])["error"])


def test_a_long_message_is_cut_at_a_word_and_logged_whole(gw, caplog):
    with caplog.at_level(logging.WARNING, logger="llmrouter.errors"):
        response = httpx.post(f"{gw.base_url}/chat/completions", json=ask("wordy"), timeout=60)
    message = response.json()["error"]["message"]
    assert message.endswith("word…") and "tail-end" not in message and "wor…" not in message
    assert any("tail-end" in r.getMessage() for r in caplog.records)
