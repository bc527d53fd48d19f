"""The connection pool under the pooled client: aiohttp's, in place of httpcore2's.

Why: profiles of the gateway's direct-HTTP path showed ~45% of its CPU per request in
httpcore2 + anyio + h11 (a pure-Python HTTP parser). aiohttp (already installed: LiteLLM
depends on it) parses HTTP in C and runs on asyncio without anyio: a direct-path call costs
27-33% less CPU in-process (docs/benchmark.md).

What stays: the client is still an ``httpx2.AsyncClient`` and its transport still an
``httpx2.AsyncHTTPTransport``; only the transport's ``_pool`` (httpcore2's
``AsyncConnectionPool``) is replaced by :class:`AiohttpPool`, which speaks the same
interface (``handle_async_request(httpcore2.Request) -> httpcore2.Response``, ``aclose``).
So vcrpy, which records and replays by patching ``AsyncHTTPTransport.handle_async_request``,
still wraps every call; httpx2's ``map_httpcore_exceptions`` still turns our httpcore2
exceptions into the httpx2 ones that :mod:`llmrouter.error_classify` knows; and tests that
hand in an ``httpx2.MockTransport`` never reach this module.

Why not the ``httpx-aiohttp`` package (0.2.0 has an httpx2 variant): it replaces the whole
transport rather than the pool, so vcrpy's httpx2 patch no longer sees the calls (its
aiohttp patcher would record them in another shape), and its error map turns a server that
hung up into ``ConnectTimeout`` and a read timeout into a bare ``TimeoutException``, which
would change the catalog errors users see.

Where this differs from httpcore2 (also in docs/transport.md):

- the pool timeout and the connect timeout are one aiohttp budget (waiting for a free slot
  plus connecting); running out of it raises ``ConnectTimeout`` (the catalog answers both
  with the same "timeout" entry);
- aiohttp has no write timeout, and its read timer starts once the body is sent: the write
  timeout is enforced as a deadline on the whole send (pool + connect + write + read budgets),
  so an upstream that stops reading the body fails with ``WriteTimeout`` within that sum
  rather than within the write timeout alone;
- idle keep-alive connections are not capped separately (``max_keepalive_connections``);
  they expire after ``keepalive_expiry`` as before; DNS answers are cached 10 s (aiohttp's
  default) where httpcore2 resolved on every new connection;
- a request body is sent with a Content-Length (a streamed upload is read first): every
  caller here sends a JSON document;
- a connection reset is reported with its errno text ("Connection reset by peer") where
  httpcore2 gave an empty message; other error texts are httpcore2's (see ``_message``).
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import socket
import ssl
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpcore2
from yarl import URL

if sys.version_info >= (3, 11):
    from asyncio import timeout as _deadline
else:  # pragma: no cover - aiohttp itself depends on async-timeout before 3.11
    from async_timeout import timeout as _deadline

__all__ = ["AiohttpPool"]

# One DEBUG line per upstream request (where httpcore2 traced its connections): which host and
# port the gateway talked to. Never the path, query or headers, which may carry keys.
log = logging.getLogger("llmrouter.http_pool")

# httpx2 always sends Host, Accept, Accept-Encoding, Connection and User-Agent itself; aiohttp
# must add none of its own (nor a Content-Type for a body the caller did not label).
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")

_MAX_HEAD = 16 * 1024
_LARGE_BODY = 1 << 20  # aiohttp's threshold for its "large body as raw bytes" ResourceWarning

# aiohttp's exceptions, most specific first, as the httpcore2 ones httpcore would have raised.
_ERROR_MAP: tuple[tuple[type[BaseException], type[Exception]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpcore2.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpcore2.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpcore2.ReadTimeout),
    (aiohttp.ClientConnectorError, httpcore2.ConnectError),  # refused, DNS, TLS handshake
    (aiohttp.ServerDisconnectedError, httpcore2.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpcore2.RemoteProtocolError),  # body cut short or malformed
    (aiohttp.ClientResponseError, httpcore2.RemoteProtocolError),  # unparsable status line/headers
    (aiohttp.InvalidURL, httpcore2.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpcore2.ReadError),  # reset by peer on an open connection
    (aiohttp.ClientConnectionError, httpcore2.ReadError),
    (asyncio.TimeoutError, httpcore2.ReadTimeout),  # (while reading the body)
)


def _as_httpcore_error(exc: BaseException) -> Exception | None:
    """The httpcore2 exception for an aiohttp/asyncio one (None: not a transport error)."""
    for source, target in _ERROR_MAP:
        if isinstance(exc, source):
            return target(_message(exc))
    return None


def _raise_as_httpcore(exc: BaseException) -> None:
    mapped = _as_httpcore_error(exc)
    if mapped is None:
        raise exc
    raise mapped from exc


def _message(exc: BaseException) -> str:
    """The error's text in httpcore2's words where aiohttp's would read differently to a user
    (the catalog quotes it): aiohttp prefixes "Cannot connect to host ... ssl:default" and
    reports a body cut short as a ``TransferEncodingError: 400``, which reads like an HTTP 400."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return str(exc.certificate_error)
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, (socket.gaierror, ssl.SSLError)):  # DNS, TLS handshake
            return str(exc.os_error)
        return "All connection attempts failed"  # refused or unreachable, as anyio says it
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "Server disconnected without sending a response."
    if isinstance(exc, aiohttp.ClientPayloadError) and "not completed" in str(exc):
        return "peer closed connection without sending complete message body"
    return str(exc) or type(exc).__name__


# The socket the current task's request is being sent on (see _TrackedRequest).
_sending: contextvars.ContextVar[asyncio.BaseTransport | None] = contextvars.ContextVar("aiohttp_pool_sending", default=None)


class _TrackedRequest(aiohttp.ClientRequest):
    """An aiohttp request that notes the socket it is sent on.

    A body the upstream stops reading stays in that socket's buffer, and a cancelled aiohttp
    request closes its connection gracefully, which waits for the buffer to drain: forever.
    On the write timeout the pool aborts the socket instead, as httpcore2 did.
    """

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        _sending.set(conn.transport)
        return await super().send(conn)


class _HeldResponse(aiohttp.ClientResponse):
    """An aiohttp response that keeps its connection until :meth:`_ResponseStream.aclose`.

    aiohttp hands a connection back to its pool the moment the parser sees the end of the
    body, even while the caller still holds the response: here the stream's ``aclose``
    decides, once the caller is done with it.
    """

    def _response_eof(self) -> None:  # aiohttp's hook, run when the body's last byte is parsed
        return  # the stream's aclose releases (read to the end) or closes (stopped early)


class _ResponseStream:
    """An aiohttp response body as httpcore2's async byte stream: chunks as they arrive
    (an SSE event is relayed when it is read, not when the body ends).

    ``aclose`` hands the connection back to the pool when the whole body has arrived, read
    or not, and drops it otherwise. An SSE relay stops reading at ``[DONE]``, and the body's
    last bytes (the chunked terminator) come in the same packet or right after: keeping
    that connection saves the next stream a connect (a TCP and TLS handshake upstream),
    where httpcore2 dropped every stream's connection. A body still arriving cannot be left
    on a pooled connection (it would poison the next request), so that one is closed.
    """

    __slots__ = ("_response", "_drained")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._drained = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while chunk := await content.readany():
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            _raise_as_httpcore(exc)
        self._drained = True

    async def aclose(self) -> None:
        if self._drained or self._response.content.is_eof():  # all of it is here: reusable
            self._response.release()
        else:  # stopped while the body is still arriving
            self._response.close()


def _send_budget(timeouts: dict[str, float | None]) -> float | None:
    """Seconds a send may take up to the response headers: the sum of its four budgets
    (None when any is unbounded)."""
    parts = (timeouts.get("pool"), timeouts.get("connect"), timeouts.get("write"), timeouts.get("read"))
    if None in parts:
        return None
    return sum(parts)  # type: ignore[arg-type]


class AiohttpPool:
    """httpcore2's pool interface on one ``aiohttp.ClientSession``, opened on first use.

    The session is bound to the running event loop, and :func:`pooled_client` may be called
    before one runs (the CLI, ``call_api``'s sync bridge), so it is created lazily.
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        max_connections: int | None = 1000,
        keepalive_expiry: float | None = 5.0,
    ) -> None:
        self._ssl_context = ssl_context
        self._max_connections = max_connections or 0  # aiohttp: 0 means no limit
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_expiry if self._keepalive_expiry is not None else 5.0,
            ssl=self._ssl_context,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx2's client keeps the cookies, above us
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            auto_decompress=False,  # httpx2 decodes Content-Encoding itself, as over httpcore2
            trust_env=False,  # proxies are httpx2's mounts (see http_client.pooled_client)
            response_class=_HeldResponse,
            request_class=_TrackedRequest,
            # No stricter than h11 under httpcore2 (16 KiB of status line and headers in all).
            max_line_size=_MAX_HEAD,
            max_field_size=_MAX_HEAD,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        return self._session

    def _timeout(self, extension: dict[str, float | None]) -> aiohttp.ClientTimeout:
        connect, read, pool = extension.get("connect"), extension.get("read"), extension.get("pool")
        key = (connect, read, pool)
        found = self._timeouts.get(key)
        if found is None:
            # aiohttp's "connect" is the wait for a pool slot plus the connection itself.
            acquire = None if connect is None or pool is None else connect + pool
            found = aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)
            if len(self._timeouts) < 64:  # a handful of distinct timeouts in practice
                self._timeouts[key] = found
        return found

    async def handle_async_request(self, request: httpcore2.Request) -> httpcore2.Response:
        """Send ``request`` and return as soon as the status line and headers are in."""
        session = self._session or self._open_session()
        url = request.url
        host = url.host.decode("ascii")
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        port = f":{url.port}" if url.port else ""
        target = URL(f"{url.scheme.decode('ascii')}://{host}{port}{url.target.decode('ascii')}", encoded=True)
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers
            if name.lower() != b"transfer-encoding"  # the body goes with a Content-Length
        ]
        body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        extensions: dict[str, Any] = request.extensions
        sni = extensions.get("sni_hostname")
        if log.isEnabledFor(logging.DEBUG):
            default_port = 443 if url.scheme == b"https" else 80
            log.debug("request.started host=%r port=%d method=%r", url.host.decode("ascii"), url.port or default_port, request.method.decode("ascii"))
        timeouts = extensions.get("timeout", {})
        sending = _sending.set(None)
        try:
            # aiohttp's own timers (pool + connect, then read once the body is sent) fire
            # before this deadline unless the body itself is stuck: that is the write timeout.
            async with _deadline(_send_budget(timeouts)):
                response = await session.request(
                    request.method.decode("ascii"),
                    target,
                    headers=headers,
                    # aiohttp warns about bytes over 1 MiB (a long conversation): those go as a
                    # file-like body it sends in pieces, with the same Content-Length.
                    data=io.BytesIO(body) if len(body) > _LARGE_BODY else (body or None),
                    allow_redirects=False,  # httpx2 follows redirects itself, when asked to
                    timeout=self._timeout(timeouts),
                    server_hostname=sni,
                )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            if type(exc) in (TimeoutError, asyncio.TimeoutError):  # our deadline, not aiohttp's
                stuck = _sending.get()
                if stuck is not None:
                    stuck.abort()
                raise httpcore2.WriteTimeout("the request body could not be sent in time") from exc
            _raise_as_httpcore(exc)
        finally:
            _sending.reset(sending)
        return httpcore2.Response(
            status=response.status,
            headers=list(response.raw_headers),
            content=_ResponseStream(response),
            extensions={
                "http_version": b"HTTP/%d.%d" % tuple(response.version),
                "reason_phrase": (response.reason or "").encode("latin-1"),
            },
        )

    async def aclose(self) -> None:
        """Close the session and every connection it holds (no "Unclosed" warnings)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> AiohttpPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
