"""A minimal HTTP/1.1 server on raw asyncio + httptools, for the benchmark's stub upstreams.

Why not uvicorn + starlette: a stub upstream must never be the bottleneck, and an ASGI stack
costs ~0.3 ms of CPU per request, about what we are trying to measure in the gateway. This
server parses with httptools (the parser uvicorn uses), answers from pre-built bytes, keeps
connections alive, and streams with chunked transfer encoding. uvloop is used when present.

It is deliberately small: one ``Handler`` coroutine per request, requests on a connection
answered in order, no pipelining tricks, no TLS, no compression.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import httptools

__all__ = ["Request", "Responder", "Handler", "serve", "run_blocking", "ThreadedServer", "install_uvloop", "StubStats"]

_REASONS = {200: b"OK", 400: b"Bad Request", 403: b"Forbidden", 404: b"Not Found", 405: b"Method Not Allowed",
            429: b"Too Many Requests", 500: b"Internal Server Error", 503: b"Service Unavailable"}


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StubStats:
    requests: int = 0
    signed: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Responder:
    """Writes one response: ``send`` (whole body) or ``start`` / ``chunk`` / ``end`` (chunked)."""

    __slots__ = ("_transport", "_keep_alive", "_chunked", "done")

    def __init__(self, transport: asyncio.Transport, keep_alive: bool) -> None:
        self._transport = transport
        self._keep_alive = keep_alive
        self._chunked = False
        self.done = False

    def _head(self, status: int, headers: list[tuple[str, str]], length: int | None) -> bytes:
        lines = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"Status"))]
        lines += [f"{k}: {v}".encode("latin-1") for k, v in headers]
        lines.append(b"content-length: %d" % length if length is not None else b"transfer-encoding: chunked")
        lines.append(b"connection: keep-alive" if self._keep_alive else b"connection: close")
        lines.append(b"date: " + _date())
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        if self._transport.is_closing():
            return
        self._transport.write(self._head(status, headers, len(body)) + body)
        self._finish()

    def start(self, status: int, headers: list[tuple[str, str]]) -> None:
        self._chunked = True
        if not self._transport.is_closing():
            self._transport.write(self._head(status, headers, None))

    def chunk(self, data: bytes) -> None:
        if data and not self._transport.is_closing():
            self._transport.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end(self) -> None:
        if not self._transport.is_closing():
            self._transport.write(b"0\r\n\r\n")
        self._finish()

    @property
    def closed(self) -> bool:
        return self._transport.is_closing()

    def _finish(self) -> None:
        self.done = True
        if not self._keep_alive:
            self._transport.close()


Handler = Callable[[Request, Responder], Awaitable[None]]

_date_cache: list[Any] = [0, b""]


def _date() -> bytes:
    loop_time = int(asyncio.get_running_loop().time())
    if _date_cache[0] != loop_time:
        _date_cache[0] = loop_time
        _date_cache[1] = formatdate(usegmt=True).encode()
    return _date_cache[1]


class _Connection(asyncio.Protocol):
    def __init__(self, handler: Handler, state: StubStats) -> None:
        self._handler = handler
        self._state = state
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._tail: asyncio.Future[None] | None = None  # the previous request's task

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            assert self._transport is not None
            self._transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._transport is None:
            return
        path, _, query = self._url.decode("latin-1").partition("?")
        request = Request(self._parser.get_method().decode(), path, query, self._headers, b"".join(self._body))
        self._state.requests += 1
        if "authorization" in self._headers:
            self._state.signed += 1
        responder = Responder(self._transport, self._parser.should_keep_alive())
        previous = self._tail
        self._tail = asyncio.ensure_future(self._respond(previous, request, responder))

    async def _respond(self, previous: asyncio.Future[None] | None, request: Request, responder: Responder) -> None:
        if previous is not None and not previous.done():
            await previous
        try:
            await self._handler(request, responder)
        except Exception as exc:  # a stub bug must show, not hang the client
            print(f"stub handler error: {exc!r}", file=sys.stderr)
            if not responder.done:
                if responder._chunked:
                    responder.end()
                else:
                    responder.send(500, [("content-type", "text/plain")], repr(exc).encode())


def install_uvloop() -> bool:
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


async def serve(handler: Handler, host: str = "127.0.0.1", port: int = 0, *, state: StubStats | None = None) -> asyncio.base_events.Server:
    """Start serving; returns the asyncio server (its port: ``server.sockets[0].getsockname()[1]``)."""
    state = state or StubStats()
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _Connection(handler, state), host, port, backlog=2048, reuse_address=True)


def run_blocking(make_handler: Callable[[StubStats], Handler], host: str, port: int, name: str) -> None:
    """Serve until SIGTERM/SIGINT; prints ``READY <name> <port> <pid>`` once listening."""
    install_uvloop()

    async def main() -> None:
        state = StubStats()
        server = await serve(make_handler(state), host, port, state=state)
        bound = server.sockets[0].getsockname()[1]
        print(f"READY {name} {bound} {os.getpid()}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())


class ThreadedServer:
    """Run a stub in a background thread with its own event loop (for tests)::

        with ThreadedServer(make_handler) as srv:
            httpx.get(srv.url + "/health")
    """

    def __init__(self, make_handler: Callable[[StubStats], Handler], host: str = "127.0.0.1", port: int = 0) -> None:
        self._make_handler = make_handler
        self.host = host
        self.port = port
        self.state = StubStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "ThreadedServer":
        self._thread = threading.Thread(target=self._run, name="stub-upstream", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def main() -> None:
            self._stop = asyncio.Event()
            try:
                server = await serve(self._make_handler(self.state), self.host, self.port, state=self.state)
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            async with server:
                await self._stop.wait()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "ThreadedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
