"""The fault stub's own behaviour, so that the fault tests test the gateway, not the stub."""

from __future__ import annotations

import httpx
import pytest

from fault_upstream import FaultUpstream, closed_port


@pytest.fixture(scope="module")
def stub():
    with FaultUpstream() as up:
        yield up


def _post(url: str, model: str, stream: bool = False, timeout: float = 5.0) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json={"model": model, "stream": stream, "messages": []}, timeout=timeout)


def test_stub_ok_keeps_the_connection_alive(stub):
    with httpx.Client(timeout=5) as client:
        first = client.post(f"{stub.url}/v1/chat/completions", json={"model": "ok"})
        second = client.post(f"{stub.url}/v1/chat/completions", json={"model": "ok", "stream": True})
    assert first.json()["choices"][0]["message"]["content"] == "Hello world"
    assert second.text.endswith("data: [DONE]\n\n")
    assert len(stub.conns_for("ok")) == 1 and stub.conns_for("ok")[0].completed == 2


def test_stub_resets_and_hangs_as_told(stub):
    with pytest.raises(httpx.TransportError):
        _post(stub.url, "reset-before")
    with pytest.raises(httpx.ReadTimeout):
        _post(stub.url, "hang", timeout=0.3)
    hung = stub.conns_for("hang")[-1]
    assert stub.wait_closed(hung, 2.0) is not None  # it noticed the client giving up


def test_stub_stream_without_done_ends_cleanly(stub):
    response = _post(stub.url, "no-done-cut", stream=True)
    assert response.status_code == 200 and "[DONE]" not in response.text and "Hello" in response.text


def test_closed_port_refuses(stub):
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{closed_port()}/v1/chat/completions", json={}, timeout=2)
