"""What one request carries across layers that do not call each other directly.

The access-log middleware starts a :class:`RequestContext` (request id, start time), the key
middleware adds the caller's :class:`~llmrouter.limits.GatewayKey`, the chat service adds the
model and attempts; the access log and the metrics read them at the end. A ``ContextVar``
because the endpoint runs in the middleware's task (or a child task, which sees the same
object): no parameter has to thread through every surface (HTTP, SSE, WebSocket, Responses).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from llmrouter.limits import GatewayKey

__all__ = ["RequestContext", "current", "start"]


@dataclass
class RequestContext:
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    key: GatewayKey | None = None
    model: str | None = None
    attempts: int = 0


_current: ContextVar[RequestContext | None] = ContextVar("openclaw_request", default=None)


def current() -> RequestContext | None:
    """The request being served in this task, if a middleware started one."""
    return _current.get()


def start(request_id: str) -> RequestContext:
    """A new context for this task and its children (call it in the outermost middleware)."""
    context = RequestContext(request_id)
    _current.set(context)
    return context
