"""Gateway API keys: who may use the gateway.

A pure ASGI middleware (no per-request framework overhead) that accepts
``Authorization: Bearer <key>`` or ``x-api-key: <key>`` when ``serve.api_keys`` is set.
Keys are compared in constant time, against every configured key, so timing tells nothing
(:class:`llmrouter.limits.KeyRing`); the caller's key goes into the request context, where
the chat service finds its limits. ``/health`` and ``/health/ready`` stay open for load
balancers and orchestrators, and ``/metrics`` too with ``serve.metrics_auth: false``.
A refused HTTP request gets 401 in OpenAI's error shape. A refused WebSocket is accepted,
then closed with code 1008 (policy violation) and a reason: closing it before accepting
makes the server (uvicorn) answer the handshake with a bare HTTP 403, from which a WebSocket
client can read no reason at all (a browser not even the status).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from llmrouter.errors import gateway_key_invalid
from llmrouter.limits import GatewayKey, KeyRing
from openclaw_litellm import request_context

__all__ = ["ApiKeyMiddleware"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

OPEN_PATHS = frozenset({"/health", "/health/ready"})
# A close reason holds at most 123 bytes: the catalog's code and the gist of its message.
WEBSOCKET_REASON = "invalid_api_key: missing or invalid gateway API key (serve.api_keys)"


class ApiKeyMiddleware:
    def __init__(self, app: Callable[..., Awaitable[None]], keys: list[GatewayKey], open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self.app = app
        self.ring = KeyRing(keys)
        self.open_paths = open_paths

    def _presented(self, scope: Scope) -> bytes | None:
        for name, value in scope.get("headers") or ():
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return value[7:].strip()
            if name == b"x-api-key":
                return value.strip()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if not self.ring or kind not in ("http", "websocket") or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        key = self.ring.find(self._presented(scope))
        if key is not None:
            context = request_context.current()
            if context is not None:
                context.key = key
            else:  # embedded without the observability middleware
                request_context.start("-").key = key
            await self.app(scope, receive, send)
            return
        if kind == "websocket":
            await receive()  # the websocket.connect the server sends first
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1008, "reason": WEBSOCKET_REASON})
            return
        body = orjson.dumps(gateway_key_invalid().to_dict())
        await send({
            "type": "http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"www-authenticate", b"Bearer")],
        })
        await send({"type": "http.response.body", "body": body})
