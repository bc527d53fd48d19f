"""A fault-injecting OpenAI-compatible upstream on 127.0.0.1 (its own tests: test_faults_upstream.py).

:class:`FaultUpstream` answers ``POST .../chat/completions`` according to the ``model`` the
gateway forwards, so one stub serves every fault of tests/test_faults.py and
tests/test_disconnect.py. Unlike the blocking :class:`loopback.LoopbackUpstream`, it runs on an
asyncio loop and *watches every connection for the peer closing it*, even while it sends
nothing, so a test can tell exactly when the gateway hung up (``Conn.closed_at``).

Models (the provider's model id in the gateway's YAML):

=====================  ========================================================================
``ok``                 JSON answer, or SSE: role, ``Hello``, `` world``, finish, usage, [DONE];
                       the connection is kept alive for the next request
``reset-before``       reads the request, then resets the connection (TCP RST), no status line
``reset-mid``          SSE: role and ``Hello``, then a TCP RST
``hang``               reads the request and never answers (until the peer closes)
``hang-mid``           SSE: role and ``Hello``, then silence (until the peer closes)
``http-500/503``       that status with an OpenAI error body
``http-429``           429 with ``Retry-After: 2``
``bad-json``           200 whose body (or, streamed, whose third event) is not JSON
``bad-shape``          200 with JSON that is no chat completion (``[1, 2]``, ``{"choices": "nope"}``)
``no-done-finished``   (streams; non-stream requests get the ``ok`` JSON) SSE with a finish_reason and usage, then a clean end without ``[DONE]``
``no-done-cut``        SSE: role and ``Hello``, then a clean end: no finish_reason, no ``[DONE]``
``drip``               SSE: a content chunk every 50 ms for 10 s (a long answer)
=====================  ========================================================================
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

__all__ = ["Conn", "FaultUpstream", "closed_port"]

CREATED = 1700000000


@dataclass
class Conn:
    """One TCP connection the gateway opened to the stub."""

    opened_at: float
    models: list[str] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)  # the JSON request bodies, in order
    requested_at: float | None = None  # when the (last) request was read in full
    closed_at: float | None = None  # when the peer closed it (EOF or reset)
    completed: int = 0  # answers written in full

    @property
    def model(self) -> str | None:
        return self.models[-1] if self.models else None


def _event(choices: list[dict], **extra: object) -> bytes:
    chunk = {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": CREATED, "model": "fault", "choices": choices, **extra}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


ROLE = _event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
HELLO = _event([{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}])
WORLD = _event([{"index": 0, "delta": {"content": " world"}, "finish_reason": None}])
FINISH = _event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
USAGE = _event([], usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
DONE = b"data: [DONE]\n\n"
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-fault", "object": "chat.completion", "created": CREATED, "model": "fault",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello world"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
).encode()


def closed_port() -> int:
    """A loopback port with nothing listening on it (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FaultUpstream:
    """The stub in a daemon thread with its own event loop; ``with FaultUpstream() as up: up.url``."""

    def __init__(self) -> None:
        self.conns: list[Conn] = []
        self.received: list[dict] = []  # every JSON request body, in arrival order
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-upstream", daemon=True)
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> "FaultUpstream":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault upstream did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()

        async def start() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

        loop.run_until_complete(start())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        self._thread.join(5)

    # --- what tests look at ----------------------------------------------------------------

    def conns_for(self, model: str) -> list[Conn]:
        return [c for c in self.conns if model in c.models]

    def wait_closed(self, conn: Conn, timeout: float) -> float | None:
        """Seconds from now until the peer closed ``conn`` (None if it did not within timeout)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if conn.closed_at is not None:
                return max(0.0, conn.closed_at - start)
            time.sleep(0.01)
        return None


    def open_connections(self) -> int:
        return sum(1 for c in self.conns if c.closed_at is None)

    # --- the server --------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(opened_at=time.monotonic())
        self.conns.append(conn)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    conn.closed_at = time.monotonic()
                    return
                conn.requested_at = time.monotonic()
                body = request
                model, stream = str(body.get("model", "")), bool(body.get("stream"))
                conn.models.append(model)
                conn.bodies.append(body)
                self.received.append(body)
                keep = await self._answer(model, stream, reader, writer, conn)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            if conn.closed_at is None:
                conn.closed_at = time.monotonic()
        except asyncio.CancelledError:  # the stub is stopping
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> dict | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = json.loads(await reader.readexactly(length)) if length else {}
        return body if isinstance(body, dict) else {}

    async def _watch_eof(self, reader: asyncio.StreamReader, conn: Conn) -> None:
        """Mark the moment the peer closes the connection (it sends nothing else meanwhile)."""
        try:
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        if conn.closed_at is None:
            conn.closed_at = time.monotonic()

    async def _answer(self, model: str, stream: bool, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Conn) -> bool:
        """Write the answer for ``model``; True when the connection may serve another request."""

        def head(status: int, content_type: str, extra: str = "", length: int | None = None, close: bool = True) -> bytes:
            reason = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
            framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
            return (
                f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n{extra}{framing}\r\n"
                f"connection: {'close' if close else 'keep-alive'}\r\n\r\n"
            ).encode()

        def chunk(data: bytes) -> bytes:
            return b"%x\r\n%s\r\n" % (len(data), data)

        async def send(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        def reset() -> None:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

        async def until_peer_closes() -> None:
            await self._watch_eof(reader, conn)

        sse_type = "text/event-stream"
        if model == "ok":
            if stream:
                await send(head(200, sse_type, close=False) + b"".join(chunk(p) for p in (ROLE, HELLO, WORLD, FINISH, USAGE, DONE)) + b"0\r\n\r\n")
            else:
                await send(head(200, "application/json", length=len(COMPLETION), close=False) + COMPLETION)
            conn.completed += 1
            return True
        if model == "reset-before":
            reset()
            return False
        if model == "reset-mid":
            await send(head(200, sse_type) + chunk(ROLE + HELLO))
            await asyncio.sleep(0.05)
            reset()
            return False
        if model == "hang":
            await until_peer_closes()
            return False
        if model == "hang-mid":
            await send(head(200, sse_type) + chunk(ROLE + HELLO))
            await until_peer_closes()
            return False
        if model.startswith("http-"):
            status = int(model[5:])
            body = json.dumps({"error": {"message": f"stub failure {status}", "type": "server_error"}}).encode()
            extra = "retry-after: 2\r\n" if status == 429 else ""
            await send(head(status, "application/json", extra, length=len(body)) + body)
            conn.completed += 1
            return False
        if model == "bad-json":
            if stream:
                await send(head(200, sse_type) + chunk(ROLE + HELLO) + chunk(b"data: {not json at all\n\n") + b"0\r\n\r\n")
            else:
                body = b'{"id": "chatcmpl-fault", "choices": [ {not json'
                await send(head(200, "application/json", length=len(body)) + body)
            conn.completed += 1
            return False
        if model == "bad-shape":  # valid JSON, but not a chat completion
            if stream:
                await send(head(200, sse_type) + chunk(ROLE + b'data: {"choices": "nope"}\n\n') + b"0\r\n\r\n")
            else:
                await send(head(200, "application/json", length=6) + b"[1, 2]")
            conn.completed += 1
            return False
        if model.startswith("no-done") and not stream:
            await send(head(200, "application/json", length=len(COMPLETION)) + COMPLETION)
            conn.completed += 1
            return False
        if model == "no-done-finished":
            await send(head(200, sse_type) + b"".join(chunk(p) for p in (ROLE, HELLO, WORLD, FINISH, USAGE)) + b"0\r\n\r\n")
            conn.completed += 1
            return False
        if model == "no-done-cut":
            await send(head(200, sse_type) + chunk(ROLE + HELLO) + b"0\r\n\r\n")
            conn.completed += 1
            return False
        if model == "drip":
            watcher = asyncio.ensure_future(until_peer_closes())
            try:
                await send(head(200, sse_type) + chunk(ROLE))
                for _ in range(200):
                    if watcher.done():
                        return False
                    await asyncio.sleep(0.05)
                    await send(chunk(HELLO))
                await send(chunk(FINISH + DONE) + b"0\r\n\r\n")
                conn.completed += 1
            except ConnectionError:
                pass
            finally:
                if not watcher.done():
                    watcher.cancel()
            return False
        body = json.dumps({"error": {"message": f"the fault stub has no model {model!r}"}}).encode()
        await send(head(500, "application/json", length=len(body)) + body)
        return False
