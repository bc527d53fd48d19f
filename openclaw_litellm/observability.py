"""Request ids, the access log, request metrics and drain bookkeeping, as one ASGI middleware.

Outermost, so it sees every request: it takes the id from ``x-request-id`` (or makes one)
and returns it in the response, counts requests in flight (a drain waits for them), and
when the answer's last byte has gone writes one access-log line (``serve.log_format: json``:
one JSON object at INFO; text: a DEBUG line) and the ``llmrouter_requests_total`` / duration metrics. Probes and scrapes
(``/health``, ``/health/ready``, ``/metrics``) are neither logged nor counted: they would
drown the traffic they are there to watch.

While draining (SIGTERM), ``/health/ready`` answers 503 here, before the app, so a load
balancer stops sending; answers carry ``connection: close`` so keep-alive clients move on.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from openclaw_litellm import metrics, request_context

__all__ = ["Drain", "ObservabilityMiddleware", "REQUEST_ID_HEADER"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

REQUEST_ID_HEADER = "x-request-id"
QUIET_PATHS = frozenset({"/health", "/health/ready", "/metrics"})
# A client's id is echoed in headers and logs: printable, short, no spaces or quotes.
_GOOD_ID = re.compile(rb"^[A-Za-z0-9._:/+=@-]{1,128}$")

access_log = logging.getLogger("openclaw.access")


class Drain:
    """Requests in flight, and whether the process is draining (shared with the server)."""

    def __init__(self) -> None:
        self.active = 0
        self.draining = False


class ObservabilityMiddleware:
    def __init__(self, app: Callable[..., Awaitable[None]], drain: Drain, json_log: bool = False) -> None:
        self.app = app
        self.drain = drain
        self.json_log = json_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if kind == "http" and path == "/health/ready" and self.drain.draining:
            await _send_json(send, 503, {"status": "draining"})
            return
        request_id = _request_id(scope)
        context = request_context.start(request_id)
        quiet = path in QUIET_PATHS
        status = 0
        model_header: bytes | None = None
        id_header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_wrapped(message: Message) -> None:
            nonlocal status, model_header
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or ())
                headers.append(id_header)
                if self.drain.draining:
                    headers.append((b"connection", b"close"))
                for name, value in headers:
                    if name == b"x-openclaw-model":
                        model_header = value
                message["headers"] = headers
            elif message["type"] == "websocket.accept":
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        self.drain.active += 1
        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            self.drain.active -= 1
            if not quiet:
                model = model_header.decode() if model_header else (context.model or "none")
                seconds = time.perf_counter() - context.started
                if kind == "http":
                    metrics.REQUESTS.labels(model, str(status or 500)).inc()
                    metrics.REQUEST_SECONDS.labels(model).observe(seconds)
                self._log(scope, context, status, model, seconds)

    def _log(self, scope: Scope, context: request_context.RequestContext, status: int, model: str, seconds: float) -> None:
        # json: the access log is the point (INFO). text: DEBUG, as before (--log-level debug).
        if not access_log.isEnabledFor(logging.INFO if self.json_log else logging.DEBUG):
            return
        key = context.key.label if context.key is not None else None
        if self.json_log:
            access_log.info("request", extra={"fields": {
                "request_id": context.request_id, "method": scope.get("method", "WS"), "path": scope.get("path"),
                "status": status, "model": model, "attempts": context.attempts,
                "duration_ms": round(seconds * 1000, 2), "key": key, "client": (scope.get("client") or ("",))[0], "pid": os.getpid(),
            }})
        else:
            access_log.debug(
                "%s %s %s model=%s attempts=%d %.1fms key=%s id=%s", scope.get("method", "WS"), scope.get("path"), status,
                model, context.attempts, seconds * 1000, key or "-", context.request_id,
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id" and _GOOD_ID.match(value):
            return value.decode()
    return uuid.uuid4().hex


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": data})


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message and any ``fields``.

    Every line of the process, not only the access log, so a log shipper reads one format.
    Messages have already passed the secret redaction filter (llmrouter.secrets).
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()
