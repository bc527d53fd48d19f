"""A client that goes away makes the gateway hang up on the provider at once, and leaves no
task, socket or response object behind.

The upstream is :class:`FaultUpstream`, which notes the moment the gateway closes each
connection (``Conn.closed_at``) even while it is sending nothing, so "promptly" is measured on
the upstream side: within ``PROMPT`` seconds of the client leaving. The gateway's
``serve.timeout`` is far longer, so a timeout can never be what closed the connection.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import time

import httpx
import psutil
import pytest


PROMPT = 1.0  # seconds from the client leaving to the upstream connection closing
DROPS = 50
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def gw(gateway_factory, up):
    base = f"{up.url}/v1"
    llms = {name: {"provider": "vllm", "model": name, "base_url": base} for name in ("ok", "drip", "hang", "hang-mid")}
    return gateway_factory({"serve": {"timeout": 30}, "llms": llms}, prefix=False)


def request_bytes(model: str, stream: bool) -> bytes:
    body = json.dumps({"model": model, "messages": HELLO, "stream": stream}).encode()
    return (b"POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body))


def wait_for(predicate, timeout: float = 5.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


def drop_http(gw, up, model: str, stream: bool, *, after_first_bytes: bool, reset: bool = False) -> float | None:
    """Send a request, leave (after the first bytes of the answer, or before any), and return
    the seconds the upstream took to see its connection closed (None: it did not within 3 s)."""
    seen = len(up.conns_for(model))
    sock = socket.create_connection(("127.0.0.1", gw.port))
    sock.sendall(request_bytes(model, stream))
    if after_first_bytes:
        sock.settimeout(5)
        assert b"data: " in sock.recv(65536)
    wait_for(lambda: len(up.conns_for(model)) > seen and up.conns_for(model)[-1].requested_at is not None)
    conn = up.conns_for(model)[-1]
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    return up.wait_closed(conn, 3.0)


@pytest.mark.parametrize(
    ("model", "stream", "after_first_bytes"),
    [("drip", True, True), ("hang-mid", True, True), ("hang", True, False), ("hang", False, False)],
    ids=["stream-mid-answer", "stream-during-upstream-silence", "stream-before-first-byte", "non-stream-while-waiting"],
)
def test_http_client_leaving_closes_the_upstream_call_promptly(gw, up, model, stream, after_first_bytes):
    closed = drop_http(gw, up, model, stream, after_first_bytes=after_first_bytes)
    assert closed is not None and closed < PROMPT, f"upstream connection closed after {closed} s"


def test_client_reset_closes_the_upstream_call_promptly(gw, up):
    closed = drop_http(gw, up, "drip", True, after_first_bytes=True, reset=True)
    assert closed is not None and closed < PROMPT


def drop_ws(gw, up, model: str, *, after_first_frame: bool, wait: float = 3.0) -> float | None:
    from websockets.sync.client import connect

    seen = len(up.conns_for(model))
    with connect(f"ws://127.0.0.1:{gw.port}/v1/chat/ws") as ws:  # leaving the block closes it
        ws.send(json.dumps({"model": model, "messages": HELLO}))
        if after_first_frame:
            assert ws.recv(timeout=5).startswith("data: ")
        wait_for(lambda: len(up.conns_for(model)) > seen and up.conns_for(model)[-1].requested_at is not None)
        conn = up.conns_for(model)[-1]
    return up.wait_closed(conn, wait)


def test_websocket_client_leaving_mid_answer_closes_the_upstream_call_promptly(gw, up):
    closed = drop_ws(gw, up, "drip", after_first_frame=True)
    assert closed is not None and closed < PROMPT, f"upstream connection closed after {closed} s"


@pytest.mark.parametrize("after_first_frame", [True, False], ids=["during-upstream-silence", "before-first-chunk"])
def test_websocket_client_leaving_while_the_upstream_is_silent(gw, up, after_first_frame):
    closed = drop_ws(gw, up, "hang-mid" if after_first_frame else "hang", after_first_frame=after_first_frame, wait=PROMPT + 0.2)
    assert closed is not None and closed < PROMPT


# --- no leaks after many dropped streams --------------------------------------------------------


def gateway_tasks(gw) -> int:
    """asyncio tasks alive on the gateway's event loop (it runs in another thread)."""
    loop = gw.server.servers[0].get_loop()

    async def count() -> int:
        return len(asyncio.all_tasks())

    return asyncio.run_coroutine_threadsafe(count(), loop).result(5) - 1  # minus the counting task


def gateway_sockets(gw) -> int:
    """TCP connections accepted by the gateway that are still open on its side."""
    return sum(1 for c in psutil.Process().net_connections(kind="tcp") if c.laddr and c.laddr.port == gw.port and c.status != psutil.CONN_LISTEN
               and c.status not in (psutil.CONN_TIME_WAIT, psutil.CONN_FIN_WAIT2, psutil.CONN_FIN_WAIT1, psutil.CONN_CLOSE))


def live_upstream_responses() -> int:
    """Open upstream response objects (httpx, or its fork httpx2 that the direct path uses)."""
    gc.collect()
    return sum(1 for o in gc.get_objects()
               if type(o).__name__ == "Response" and type(o).__module__.split(".")[0] in ("httpx", "httpx2") and not getattr(o, "is_closed", True))


def test_fifty_dropped_requests_leak_nothing(gw, up):
    assert httpx.post(f"{gw.base_url}/chat/completions", json={"model": "ok", "messages": HELLO}, timeout=10).status_code == 200
    time.sleep(0.2)
    first_new = len(up.conns)
    before = {"tasks": gateway_tasks(gw), "sockets": gateway_sockets(gw), "responses": live_upstream_responses(), "fds": psutil.Process().num_fds()}
    # The count does see an upstream response while one is open (so it would see a leak).
    sock = socket.create_connection(("127.0.0.1", gw.port))
    sock.sendall(request_bytes("drip", True))
    sock.settimeout(5)
    assert b"data: " in sock.recv(65536)
    assert live_upstream_responses() >= before["responses"] + 1
    sock.close()
    wait_for(lambda: live_upstream_responses() <= before["responses"])
    kinds = [("drip", True, True), ("hang-mid", True, True), ("hang", True, False), ("hang", False, False), ("drip", True, True)]
    slow = []
    for i in range(DROPS):
        model, stream, after = kinds[i % len(kinds)]
        closed = drop_http(gw, up, model, stream, after_first_bytes=after, reset=i % 7 == 0)
        if closed is None or closed >= PROMPT:
            slow.append((i, model, closed))
    assert not slow, f"upstream calls left open: {slow}"
    assert all(c.closed_at is not None for c in up.conns[first_new:] if c.model != "ok")

    def settled() -> dict[str, int]:
        return {"tasks": gateway_tasks(gw), "sockets": gateway_sockets(gw), "responses": live_upstream_responses(), "fds": psutil.Process().num_fds()}

    deadline = time.monotonic() + 3.0
    after = settled()
    while time.monotonic() < deadline and (after["tasks"] > before["tasks"] or after["sockets"] > before["sockets"] or after["fds"] > before["fds"] + 2):
        time.sleep(0.1)
        after = settled()
    assert after["tasks"] <= before["tasks"], (before, after)
    assert after["sockets"] <= before["sockets"], (before, after)
    assert after["responses"] <= before["responses"], (before, after)
    assert after["fds"] <= before["fds"] + 2, (before, after)  # the upstream keeps its idle keep-alive connection
    # ...and the gateway still answers.
    assert httpx.post(f"{gw.base_url}/chat/completions", json={"model": "ok", "messages": HELLO, "stream": True}, timeout=10).text.endswith("data: [DONE]\n\n")


def test_tiny_bounded_soak_of_the_serve_process(tmp_path):
    """``python -m bench.soak`` in miniature (the real one runs 200 streams for 60 s, off CI):
    a real ``llmrouter serve`` process, no errors, no descriptor or thread left behind."""
    from bench.soak import run_soak

    result, summary = run_soak(20, 2.0, chunks=5, interval_ms=10, delay_ms=0, warmup=0.5, logs=tmp_path, log=False, settle=0.5)
    assert summary["errors"] == 0, summary
    assert result.requests >= 20 and summary["healthy_after"], summary
    # Pooled upstream connections stay open for the keep-alive period (at most one per stream
    # that ran at once); every other descriptor must be back to idle.
    assert result.upstream_keepalive_after is not None and result.upstream_keepalive_after <= 20, summary
    assert result.fds_after - result.upstream_keepalive_after <= result.fds_idle + 2, summary
    assert result.threads_after <= result.threads_idle, summary
    assert summary["rss_mb"]["growth_after_warmup"] < 25, summary
