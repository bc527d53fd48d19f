"""A client that hangs up while still sending its request body.

Nobody is left to read an answer and nothing failed in the gateway: the request ends with
499 (nginx's "client closed request") and one INFO line, not a 500 with a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

import pytest

from openclaw_litellm.app import create_app
from llmrouter.config import OpenClawConfig

CONFIG = {"llms": {"local": {"provider": "vllm", "model": "m", "base_url": "http://127.0.0.1:9/v1"}}}


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
    }


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
async def test_a_client_leaving_mid_body_is_499_and_an_info_line(path: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(OpenClawConfig.from_dict(CONFIG))
    messages = [{"type": "http.request", "body": b'{"model": "local", "mess', "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # the server sends nothing after a disconnect
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(_scope(path), receive, send), 5)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    assert [r.levelname for r in caplog.records if r.name.startswith("openclaw")] == ["INFO"]
    assert "client left" in caplog.text and "Traceback" not in caplog.text


def test_a_real_client_hanging_up_mid_body_leaves_no_traceback(gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    gw = gateway(CONFIG)
    with socket.create_connection(("127.0.0.1", gw.port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 1000\r\n\r\n" + b'{"model": "local", "mess'
        )
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while "client left" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "client left while sending" in caplog.text
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
