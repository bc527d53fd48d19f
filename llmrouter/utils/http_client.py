"""The transport seam: the pooled HTTP client that OpenAI-compatible calls go through.

Nothing here is global. Whoever runs the event loop opens one client and hands it down:

- the server: the app's lifespan (:func:`openclaw_litellm.app.create_app`) gives it to
  ``LLMBackend``; ``create_app(config, client=...)`` hands in one the caller owns instead;
- the CLI: ``infer`` opens one per batch, ``chat`` one per session;
- ``call_api()``: its sync bridge opens one for the private loop it runs on.

A call handed no client opens one for itself and closes it when done (like ``httpx.post``
beside ``client.post``): correct, just not pooled. Tests hand in a client whose transport
is an ``httpx2.MockTransport`` (or any ``httpx2.AsyncBaseTransport``): the same seam as
httpx's ``BaseTransport.handle_request``, and no socket is opened.

Under the client, httpx2's own ``AsyncHTTPTransport`` runs on aiohttp's connection pool
(:mod:`llmrouter.utils.aiohttp_pool`: a C HTTP parser, no anyio; about a third less CPU
per call) instead of httpcore2's. Proxies from the environment (``HTTPS_PROXY``, ``NO_PROXY``...) are
still httpx2's mounts, built by httpx2 as before: proxied requests go through httpcore2.
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
from collections.abc import AsyncIterator

# httpx2 (pydantic's maintained fork of httpx, already required by the openai SDK that
# LiteLLM depends on) rather than httpx 0.28: httpcore 1.0's pool rescans every connection
# for every queued request, which cost more than half the gateway's CPU at concurrency 100
# (see docs/benchmark.md). Same API, and vcrpy records and replays it.
import httpx2 as httpx

from llmrouter.providers import DEFAULT_TIMEOUT_S
from llmrouter.utils.aiohttp_pool import AiohttpPool

__all__ = ["AsyncClient", "AsyncBaseTransport", "borrowed_or_own", "pooled_client", "tls_context"]

AsyncClient = httpx.AsyncClient
AsyncBaseTransport = httpx.AsyncBaseTransport


def pooled_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """A new client with the gateway's pool limits and default timeouts.

    ``transport`` replaces the network (tests: ``httpx2.MockTransport(handler)``). The caller
    owns the client: ``async with pooled_client() as client: ...`` or ``await client.aclose()``.
    """
    return _AiohttpPooledClient(
        transport=transport,
        verify=tls_context(),
        timeout=httpx.Timeout(DEFAULT_TIMEOUT_S, connect=10.0),
        limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
        http2=False,
    )


class _AiohttpTransport(httpx.AsyncHTTPTransport):
    """httpx2's own transport on :class:`AiohttpPool`.

    A subclass that keeps ``handle_async_request``: vcrpy records and replays by patching
    ``httpx2.AsyncHTTPTransport.handle_async_request``, and that method maps the pool's
    httpcore2 exceptions onto httpx2's, so both keep working unchanged.
    """

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        # Not super().__init__(): it would build an httpcore2 pool only to throw it away.
        self._pool = AiohttpPool(ssl_context, limits.max_connections, limits.keepalive_expiry)  # type: ignore[assignment]


class _AiohttpPooledClient(httpx.AsyncClient):
    """An ``httpx2.AsyncClient`` whose default transport is :class:`_AiohttpTransport`.

    Overriding ``_init_transport`` (the hook httpx-aiohttp and the OpenAI SDK use too) rather
    than passing ``transport=``: httpx2 ignores proxy variables whenever a transport is handed
    in, and building its proxy mounts is its job, not ours.
    """

    def _init_transport(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: object = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> httpx.AsyncBaseTransport:
        if transport is not None:
            return transport
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else tls_context()
        return _AiohttpTransport(ssl_context, limits)


def tls_context() -> ssl.SSLContext:
    """The TLS context every pooled client uses (built on first use; a warm-up may call it)."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """The default TLS context, built once per process: loading the trust store takes ~0.2 s,
    which every new client would otherwise pay (on the event loop). The arguments are only the
    cache key: httpx2 reads the same variables itself, so a changed one builds a new context."""
    return httpx.create_ssl_context()


@contextlib.asynccontextmanager
async def borrowed_or_own(client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    """``client`` as is (its owner closes it), or, when None, a client for this block only."""
    if client is not None:
        yield client
        return
    async with pooled_client() as own:
        yield own
