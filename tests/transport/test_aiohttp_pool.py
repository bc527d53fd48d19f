"""The pooled client's connection pool (aiohttp under httpx2's own transport), over real sockets.

No MockTransport here: every request goes to a loopback upstream through
:func:`llmrouter.utils.http_client.pooled_client`. Where the behaviour must be the one the
gateway had on httpcore2 (errors, headers), the same call also goes through a plain
``httpx2.AsyncClient`` (httpcore2's pool) and the two are compared.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import httpx2
import pytest
from fault_upstream import FaultUpstream, closed_port
from loopback import LoopbackUpstream, StubReply, completion_body, sse_answer

from llmrouter import errors
from llmrouter.recording import recording
from llmrouter.utils.aiohttp_pool import AiohttpPool
from llmrouter.utils.chat_call import from_request
from llmrouter.utils.http_client import pooled_client, tls_context
from llmrouter.utils.openai_compat import achat, astream


@pytest.fixture
def up() -> Iterator[LoopbackUpstream]:
    server = LoopbackUpstream(lambda request: StubReply(body=completion_body("unset")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultUpstream]:
    with FaultUpstream() as stub:
        yield stub


def call(base_url: str, model: str = "m", timeout: float = 5.0) -> Any:
    return from_request({"api_name": model, "api_endpoint": f"{base_url}/v1", "query": "hi"}, api_keys=("k-1",), timeout=timeout)


def httpcore2_client() -> httpx2.AsyncClient:
    """What pooled_client() was before: httpx2 on httpcore2's pool."""
    return httpx2.AsyncClient(verify=tls_context(), trust_env=False)


async def collect(call_: Any, client: httpx2.AsyncClient, stream: bool) -> Any:
    if not stream:
        return await achat(call_, client)
    return [chunk async for chunk in astream(call_, client)]


async def test_the_pooled_client_runs_on_the_aiohttp_pool_and_sends_what_httpcore2_sent(up: LoopbackUpstream) -> None:
    up.route = lambda request: StubReply(body=completion_body("over aiohttp"))
    async with pooled_client() as client:
        assert isinstance(client._transport._pool, AiohttpPool)  # the real pool, not a mock
        result = await achat(call(up.url), client)
    async with httpcore2_client() as client:
        await achat(call(up.url), client)

    assert result["choices"][0]["message"]["content"] == "over aiohttp"
    ours, before = up.requests
    assert ours.headers["authorization"] == "Bearer k-1"
    # No header added or dropped by aiohttp (User-Agent, Accept, Content-Type...): httpx2's own.
    assert ours.headers == before.headers
    assert (ours.method, ours.path, ours.body) == (before.method, before.path, before.body)


async def test_a_long_response_header_passes_as_it_did_on_httpcore2(up: LoopbackUpstream) -> None:
    long_value = "c" * 12_000  # over aiohttp's default 8190-byte line limit, under h11's 16 KiB head
    up.route = lambda request: StubReply(body=completion_body("fine"), headers={"x-trace": long_value})
    for make_client in (pooled_client, httpcore2_client):
        async with make_client() as client:
            response = await client.get(f"{up.url}/v1/models")
        assert response.headers["x-trace"] == long_value


async def test_a_conversation_over_a_mebibyte_arrives_whole(up: LoopbackUpstream) -> None:
    up.route = lambda request: StubReply(body=completion_body("read it all"))
    long_text = "lorem ipsum " * 200_000  # 2.4 MB: aiohttp sends it in pieces, not as one bytes object
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        async with pooled_client() as client:
            big = from_request({"api_name": "m", "api_endpoint": f"{up.url}/v1", "query": long_text}, api_keys=("k-1",))
            await achat(big, client)
    sent = up.requests[-1]
    assert int(sent.headers["content-length"]) == len(sent.body) > 2_000_000
    assert "transfer-encoding" not in sent.headers
    assert sent.json()["messages"][-1]["content"] == long_text


async def test_a_stream_arrives_chunk_by_chunk_not_at_its_end(up: LoopbackUpstream) -> None:
    words = "one two three four five"
    up.route = lambda request: StubReply(parts=sse_answer(words), interval=0.2)
    arrivals: list[tuple[float, str]] = []
    async with pooled_client() as client:
        async for chunk in astream(call(up.url), client):
            for choice in chunk.get("choices") or ():
                if choice["delta"].get("content"):
                    arrivals.append((time.monotonic(), choice["delta"]["content"]))

    assert "".join(text for _, text in arrivals) == words
    # Five words sent 0.2 s apart: buffered, they would all arrive at once at the end.
    assert arrivals[-1][0] - arrivals[0][0] >= 0.5


async def test_sequential_answers_share_one_keep_alive_connection(faults: FaultUpstream) -> None:
    before = len(faults.conns_for("ok"))
    async with pooled_client() as client:
        for _ in range(3):
            await achat(call(faults.url, "ok"), client)
    assert len(faults.conns_for("ok")) == before + 1


async def test_streams_read_to_done_reuse_their_upstream_connection(faults: FaultUpstream) -> None:
    """The relay stops reading at [DONE]; the body's end came with it, so the next stream
    goes out on the same connection (no new connect, no TLS handshake upstream)."""
    before = len(faults.conns_for("ok"))
    async with pooled_client() as client:
        for _ in range(3):
            chunks = [chunk async for chunk in astream(call(faults.url, "ok"), client)]
            assert any(c["choices"] and c["choices"][0]["delta"].get("content") for c in chunks)
    assert len(faults.conns_for("ok")) == before + 1


async def test_a_stream_left_while_its_body_still_arrives_is_not_reused(faults: FaultUpstream) -> None:
    """A consumer that stops mid-answer: the rest of that body must never reach the next request."""
    async with pooled_client() as client:
        chunks = aclosing(astream(call(faults.url, "drip"), client))
        async with chunks as stream:
            async for _ in stream:
                break  # the upstream keeps sending for 10 s
        deadline = time.monotonic() + 5
        while not faults.conns_for("drip")[-1].closed_at and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert faults.conns_for("drip")[-1].closed_at, "the dripping connection was kept"
        answer = await achat(call(faults.url, "ok"), client)  # and the pool still serves cleanly
    assert answer["choices"][0]["message"]["content"] == "Hello world"


FAULTS = [
    # (fault model, streamed, call timeout): each must end in the catalog error it did on httpcore2.
    ("refused", False, 5.0),
    ("reset-before", False, 5.0),
    ("hang", False, 0.4),
    ("reset-mid", True, 5.0),
    ("hang-mid", True, 0.4),
    ("no-done-cut", True, 5.0),
]


@pytest.mark.parametrize(("model", "stream", "timeout"), FAULTS)
async def test_a_failing_upstream_gives_the_same_catalog_error_as_on_httpcore2(
    faults: FaultUpstream, model: str, stream: bool, timeout: float
) -> None:
    base = f"http://127.0.0.1:{closed_port()}" if model == "refused" else faults.url
    caught: list[errors.GatewayError] = []
    for make_client in (pooled_client, httpcore2_client):
        async with make_client() as client:
            with pytest.raises(errors.GatewayError) as failure:
                await collect(call(base, model, timeout), client, stream)
        caught.append(failure.value)

    ours, before = caught
    assert (ours.status, ours.type, ours.code) == (before.status, before.type, before.code)
    if not model.startswith("reset"):  # a reset now says so ("Connection reset by peer"); httpcore2 said nothing
        assert ours.message == before.message
    expected = {"refused": "upstream_unreachable", "hang": "upstream_timeout", "hang-mid": "upstream_timeout"}
    if model in expected:
        assert ours.code == expected[model]


@pytest.fixture
def deaf_upstream() -> Iterator[str]:
    """A server that accepts connections and never reads from them (a stuck upload)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_body_the_upstream_never_reads_ends_in_a_write_timeout_as_on_httpcore2(deaf_upstream: str) -> None:
    body = b"x" * (64 << 20)  # far more than the loopback socket buffers hold

    async def send(make_client: Any) -> float:
        async with make_client() as client:
            started = time.monotonic()
            with pytest.raises(httpx2.WriteTimeout):  # not the test's own bound below: a hang fails
                await asyncio.wait_for(client.post(f"{deaf_upstream}/v1/chat/completions", content=body, timeout=0.3), 10.0)
            return time.monotonic() - started

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for make_client in (pooled_client, httpcore2_client):
            # Ours within the sum of the four budgets (pool, connect, write, read: 1.2 s), plus slack.
            assert asyncio.run(send(make_client)) < 5.0
        gc.collect()
    # The stuck socket was aborted, not left closing with 64 MB to flush; and no warning about
    # the large body itself.
    assert not [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_client_made_outside_a_loop_opens_its_session_on_the_loop_and_closes_it(
    up: LoopbackUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    up.route = lambda request: StubReply(body=completion_body("fine"))
    client = pooled_client()  # the CLI and call_api's sync bridge make clients before a loop runs
    pool = client._transport._pool
    assert pool._session is None  # nothing bound to a loop yet

    async def use_and_close() -> Any:
        await achat(call(up.url), client)
        session = pool._session
        assert session is not None and not session.closed
        await client.aclose()
        return session

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR, logger="asyncio"):
        warnings.simplefilter("always")
        session = asyncio.run(use_and_close())
        gc.collect()  # aiohttp reports an unclosed session or connector from __del__
    assert session.closed and pool._session is None
    assert not [w for w in caught if "nclosed" in str(w.message)], [str(w.message) for w in caught]
    assert "nclosed" not in caplog.text


@pytest.mark.parametrize("stream", [False, True])
async def test_vcrpy_records_and_replays_through_the_real_transport(up: LoopbackUpstream, tmp_path: Any, stream: bool) -> None:
    up.route = lambda request: StubReply(parts=sse_answer("recorded words")) if stream else StubReply(body=completion_body("recorded"))
    with recording(record_dir=str(tmp_path)):
        async with pooled_client() as client:
            first = await collect(call(up.url), client, stream)
    assert len(up.requests) == 1 and any(tmp_path.iterdir())

    up.route = lambda request: StubReply(status=500, body="the replay must not reach the upstream")
    with recording(replay_dir=str(tmp_path)):
        async with pooled_client() as client:
            again = await collect(call(up.url), client, stream)
    assert again == first
    assert len(up.requests) == 1


async def test_a_proxy_from_the_environment_is_still_used(up: LoopbackUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", up.url)  # the loopback plays a forward proxy
    up.route = lambda request: StubReply(body=completion_body("via the proxy"))
    async with pooled_client() as client:
        result = await achat(call("http://provider.invalid"), client)
    assert result["choices"][0]["message"]["content"] == "via the proxy"
    assert up.requests[-1].path == "http://provider.invalid/v1/chat/completions"  # absolute form: a proxy request
