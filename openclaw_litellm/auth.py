"""Gateway API keys: who may use the gateway.

A pure ASGI middleware (no per-request framework overhead) that accepts
``Authorization: Bearer <key>`` or ``x-api-key: <key>`` when ``serve.api_keys`` is set.
Keys are compared in constant time, against every configured key, so timing tells nothing.
``/health`` and ``/health/ready`` stay open for load balancers and orchestrators.
A refused HTTP request gets 401 in OpenAI's error shape. A refused WebSocket is accepted,
then closed with code 1008 (policy violation) and a reason: closing it before accepting
makes the server (uvicorn) answer the handshake with a bare HTTP 403, from which a WebSocket
client can read no reason at all (a browser not even the status).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from llmrouter.errors import gateway_key_invalid

__all__ = ["ApiKeyMiddleware"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

OPEN_PATHS = frozenset({"/health", "/health/ready"})
# A close reason holds at most 123 bytes: the catalog's code and the gist of its message.
WEBSOCKET_REASON = "invalid_api_key: missing or invalid gateway API key (serve.api_keys)"


class ApiKeyMiddleware:
    def __init__(self, app: Callable[..., Awaitable[None]], keys: list[str]) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys if k]

    def _presented(self, scope: Scope) -> bytes | None:
        for name, value in scope.get("headers") or ():
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return value[7:].strip()
            if name == b"x-api-key":
                return value.strip()
        return None

    def _allowed(self, presented: bytes | None) -> bool:
        if presented is None:
            return False
        ok = False
        for key in self.keys:  # no early exit: the time taken does not depend on which key
            ok |= hmac.compare_digest(presented, key)
        return ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if not self.keys or kind not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if self._allowed(self._presented(scope)):
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
