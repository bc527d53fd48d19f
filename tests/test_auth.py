"""Gateway API keys: 401 in OpenAI's shape without a valid key; /health stays open."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from openclaw_litellm.app import create_app
from llmrouter.config import OpenClawConfig

GATEWAY_KEY = "gw-planted-key-5f2d9c1e7a"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("OPENCLAW_TEST_GATEWAY_KEY", GATEWAY_KEY)
    config = OpenClawConfig.from_dict(
        {
            "serve": {"api_keys": ["${OPENCLAW_TEST_GATEWAY_KEY}", "second-key-abcdef"]},
            "llms": {"local": {"provider": "vllm", "model": "m", "base_url": "http://127.0.0.1:9/v1"}},
        }
    )
    with TestClient(create_app(config)) as c:
        yield c


def test_health_is_open(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/health/ready").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong-key-000000"}, {"x-api-key": "wrong"}, {"authorization": GATEWAY_KEY}],
    ids=["none", "wrong-bearer", "wrong-x-api-key", "no-bearer-scheme"],
)
def test_missing_or_wrong_key_is_401_in_openai_shape(client: TestClient, headers: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
        response = client.request(method, path, headers=headers, json={"model": "local", "messages": [{"role": "user", "content": "x"}]})
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["type"] == "authentication_error" and error["code"] == "invalid_api_key"
        assert GATEWAY_KEY not in response.text
    assert GATEWAY_KEY not in caplog.text


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_valid_key_passes(client: TestClient, header: str) -> None:
    value = f"Bearer {GATEWAY_KEY}" if header == "authorization" else GATEWAY_KEY
    response = client.get("/v1/models", headers={header: value})
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["auto", "local"]
    assert client.get("/v1/models", headers={"authorization": "Bearer second-key-abcdef"}).status_code == 200


@pytest.fixture
def ws_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The gateway under a real uvicorn: TestClient only emulates the ASGI server's side of a
    refused handshake, so what a WebSocket client actually sees is checked here."""
    from real_server import serving

    monkeypatch.setenv("OPENCLAW_TEST_GATEWAY_KEY", GATEWAY_KEY)
    config = OpenClawConfig.from_dict(
        {
            "serve": {"api_keys": ["${OPENCLAW_TEST_GATEWAY_KEY}"]},
            "llms": {"local": {"provider": "vllm", "model": "m", "base_url": "http://127.0.0.1:9/v1"}},
        }
    )
    with serving(create_app(config)) as url:
        yield url.replace("http://", "ws://") + "/v1/chat/ws"


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong-key-000000"}], ids=["none", "wrong"])
def test_websocket_without_a_valid_key_is_closed_1008_with_a_reason(ws_url: str, headers: dict[str, str]) -> None:
    from websockets.exceptions import ConnectionClosedError
    from websockets.sync.client import connect

    with connect(ws_url, additional_headers=headers, open_timeout=5) as ws:
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=5)
    received = closed.value.rcvd
    assert received is not None, "the server closed without a close frame"
    assert received.code == 1008  # policy violation
    assert "invalid_api_key" in received.reason and "gateway API key" in received.reason
    assert GATEWAY_KEY not in received.reason


def test_websocket_with_key_is_accepted(ws_url: str) -> None:
    from websockets.sync.client import connect

    with connect(ws_url, additional_headers={"authorization": f"Bearer {GATEWAY_KEY}"}, open_timeout=5) as ws:
        ws.send("not json")
        assert ws.recv(timeout=5).startswith('data: {"error"')
        assert ws.recv(timeout=5) == "data: [DONE]\n\n"
