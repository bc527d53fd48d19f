"""Serve one chat request: route, call the backend, fall back, shape the answer.

Shared by HTTP (JSON and SSE) and WebSocket. A stream is *primed*: the first chunk is
fetched before anything is sent, so a failure before the first byte still becomes a proper
HTTP error, or a fallback to the next model; a failure after it ends the stream with an
error event (switching models mid-answer would splice two answers together).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from llmrouter import errors
from openclaw_litellm.backend import LLMBackend
from openclaw_litellm.routing import Router
from openclaw_litellm.schemas import ChatRequest
from openclaw_litellm.stream_pipeline import StreamShaper, shape_completion

__all__ = ["ChatService", "Served", "StreamServed"]

log = logging.getLogger("openclaw.completions")


@dataclass
class Served:
    model: str
    attempts: int
    body: dict[str, Any]


@dataclass
class StreamServed:
    model: str
    attempts: int
    chunks: AsyncIterator[dict[str, Any]]


class ChatService:
    def __init__(self, router: Router, backend: LLMBackend, prefix: bool) -> None:
        self.router = router
        self.backend = backend
        self.prefix = prefix

    async def complete(self, request: ChatRequest) -> Served:
        candidates = self.router.select(request)
        messages, params = request.messages_as_dicts(), request.provider_params()
        last: errors.GatewayError | None = None
        for attempt, (name, llm) in enumerate(candidates, start=1):
            try:
                body = await self.backend.complete(llm, messages, params)
            except errors.GatewayError as err:
                last = err
                if not err.retryable:
                    raise
                log.warning("model %s failed (%s); trying the next one", name, err.code)
                continue
            return Served(name, attempt, shape_completion(body, name, self.prefix))
        assert last is not None
        raise last

    async def stream(self, request: ChatRequest) -> StreamServed:
        candidates = self.router.select(request)
        messages, params = request.messages_as_dicts(), request.provider_params()
        last: errors.GatewayError | None = None
        for attempt, (name, llm) in enumerate(candidates, start=1):
            source = self.backend.stream(llm, messages, params)
            try:
                first = await anext(source)
            except StopAsyncIteration:
                first = None
            except errors.GatewayError as err:
                last = err
                await source.aclose()
                if not err.retryable:
                    raise
                log.warning("model %s failed before its first chunk (%s); trying the next one", name, err.code)
                continue
            shaper = StreamShaper(name, self.prefix, request.wants_usage)
            return StreamServed(name, attempt, shaper.run(_resume(first, source)))
        assert last is not None
        raise last


async def _resume(first: dict[str, Any] | None, rest: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    try:
        if first is not None:
            yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()  # type: ignore[attr-defined]
