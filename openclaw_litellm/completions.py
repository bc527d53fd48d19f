"""Serve one chat request: route, call the backend, retry, fall back, shape the answer.

Shared by HTTP (JSON and SSE) and WebSocket. Retries live here and only here: the backend
calls ``api_calling`` with its default ``max_retries=0`` (and LiteLLM with ``num_retries=0``),
so one policy, ``router:`` in the YAML, decides every repeat:

- candidates are the routed model then ``router.fallback_models``; models in cooldown
  (:mod:`openclaw_litellm.cooldown`) go last;
- a retryable failure (``GatewayError.retryable``: connection error, timeout, 429, 5xx,
  throttling) is retried on the same model up to ``router.max_retries`` times, waiting an
  exponential, jittered backoff and never less than the provider's ``Retry-After``, then the
  next candidate is tried; a model that has just gone into cooldown is left at once when
  another candidate remains;
- a client error (400, 401, 403, 404...) is returned at once: no retry, no fallback;
- ``router.deadline`` bounds everything from the first attempt until an answer starts: an
  attempt is cut when it runs out, and no wait goes past it.

A stream is *primed*: chunks are read until the first one with output (content, a tool call,
a finish) before anything is sent, so a failure before the first byte still becomes a proper
HTTP error or a fallback; a failure after it ends the stream with an error event (switching
models mid-answer would splice two answers together).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from llmrouter import errors
from llmrouter.config import LLMConfig
from llmrouter.routing import Candidates, Router
from llmrouter.state import LocalStore, StateStore
from llmrouter.utils.backoff import retry_delay
from openclaw_litellm import metrics
from openclaw_litellm.accounting import Accounting
from openclaw_litellm.backend import LLMBackend
from openclaw_litellm.cooldown import Cooldowns
from openclaw_litellm.schemas import ChatRequest
from openclaw_litellm.stream_pipeline import StreamShaper, shape_completion

__all__ = ["ChatService", "LoopClock", "Served", "StreamServed"]

log = logging.getLogger("openclaw.completions")

T = TypeVar("T")
Chunk = dict[str, Any]

PRIME_LIMIT = 16  # chunks buffered at most while waiting for the first output


@dataclass
class Served:
    model: str
    attempts: int
    body: dict[str, Any]


@dataclass
class StreamServed:
    model: str
    attempts: int
    chunks: AsyncIterator[Chunk]


class LoopClock:
    """The time the retry loop reads, waits on and cuts attempts at: the event loop's.

    One seam, as :class:`~openclaw_litellm.cooldown.Cooldowns` takes a clock: a test hands
    :class:`ChatService` a clock that records the waits instead of sleeping them.
    """

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def before(self, deadline: float, awaitable: Awaitable[T]) -> T:
        """``await awaitable``, cut at ``deadline`` (in :meth:`now`'s time) with asyncio.TimeoutError."""
        if _timeout_at is not None:
            async with _timeout_at(deadline):
                return await awaitable
        return await asyncio.wait_for(awaitable, deadline - self.now())


class ChatService:
    def __init__(self, router: Router, backend: LLMBackend, prefix: bool, clock: LoopClock | None = None,
                 store: StateStore | None = None) -> None:
        self.router = router
        self.backend = backend
        self.prefix = prefix
        policy = router.config.router
        self.max_retries = policy.max_retries
        self.backoff = policy.retry_backoff
        self.deadline = policy.deadline
        store = store if store is not None else LocalStore()
        # In process the reads are instant: running them as tasks would only add overhead.
        self.concurrent_reads = not isinstance(store, LocalStore)
        self.names = list(router.config.llms)
        self.cooldowns = Cooldowns(policy.cooldown_after, policy.cooldown, store)
        llms = router.config.llms
        self.accounting = Accounting(store, llms, {"auto", *llms})
        self.clock = clock or LoopClock()
        router.bind(backend)  # the `llm` strategy asks its router model through this backend

    async def complete(self, request: ChatRequest) -> Served:
        candidates = await self._open(request)
        messages, params = request.messages_as_dicts(), request.provider_params()

        def call(name: str, llm: LLMConfig) -> Awaitable[dict[str, Any]]:
            return self.backend.complete(llm, messages, params)

        name, attempts, body = await self._attempt(candidates, call)
        self.accounting.settle(name, attempts, body.get("usage"))
        return Served(name, attempts, shape_completion(body, name, self.prefix))

    async def stream(self, request: ChatRequest) -> StreamServed:
        candidates = await self._open(request)
        messages, params = request.messages_as_dicts(), request.provider_params()

        async def call(name: str, llm: LLMConfig) -> tuple[list[Chunk], AsyncIterator[Chunk]]:
            source = self.backend.stream(llm, messages, params)
            try:
                return await _prime(source), source
            except BaseException:
                await source.aclose()  # type: ignore[attr-defined]
                raise

        name, attempts, (head, source) = await self._attempt(candidates, call)
        self.accounting.first_output(name)
        shaper = StreamShaper(name, self.prefix, request.wants_usage)
        chunks = self.accounting.watch_stream(name, attempts, shaper.run(self._relay(name, head, source)), lambda: shaper.usage)
        return StreamServed(name, attempts, chunks)

    # --- the retry / fallback loop -------------------------------------------------------------

    async def _open(self, request: ChatRequest) -> Candidates:
        """The caller's admission, the routing choice and the models' health, then the candidates
        in the order to try them. With a shared store the three reads go out together: a request
        waits for one round trip to Redis, not three (a refused request may advance the
        round-robin rotation by one; nothing else is spent)."""
        if self.concurrent_reads:
            _, candidates, marks = await asyncio.gather(
                self.accounting.admit(request.model), self.router.select(request), self.cooldowns.marks(self.names))
        else:
            await self.accounting.admit(request.model)
            candidates = await self.router.select(request)
            marks = await self.cooldowns.marks(self.names)
        return self.cooldowns.arrange(candidates, marks)

    async def _attempt(self, candidates: Candidates, call: Callable[[str, LLMConfig], Awaitable[T]]) -> tuple[str, int, T]:
        """``(model, attempts, result)`` of the first attempt that succeeds, else the last error."""
        clock = self.clock
        deadline = clock.now() + self.deadline
        ordered = candidates
        attempts = 0
        last: errors.GatewayError | None = None
        for index, (name, llm) in enumerate(ordered):
            others_left = index < len(ordered) - 1
            retries = 0
            while True:
                if last is not None and clock.now() >= deadline:
                    log.warning("deadline of %g s reached after %d attempts; giving up", self.deadline, attempts)
                    raise last
                attempts += 1
                started = time.perf_counter()
                try:
                    result = await clock.before(deadline, call(name, llm))
                except asyncio.TimeoutError:
                    err = self._deadline_error(llm, attempts)
                except errors.GatewayError as exc:
                    err = exc
                else:
                    metrics.UPSTREAM_SECONDS.labels(name).observe(time.perf_counter() - started)
                    await self.cooldowns.success(name)
                    if attempts > 1:
                        log.info("model %s answered at attempt %d", name, attempts)
                    return name, attempts, result
                metrics.UPSTREAM_SECONDS.labels(name).observe(time.perf_counter() - started)
                cooling = await self.cooldowns.failure(name, err)
                last = err
                if not err.retryable:
                    raise err
                log.warning("model %s failed (%s, attempt %d)", name, err.code, attempts)
                if retries >= self.max_retries or (others_left and cooling):
                    break
                wait = retry_delay(retries, err, self.backoff)
                if clock.now() + wait >= deadline:
                    break
                await clock.sleep(wait)
                retries += 1
                metrics.RETRIES.labels(name).inc()
            if others_left:
                metrics.FALLBACKS.labels(name).inc()
        assert last is not None
        raise last

    def _deadline_error(self, llm: LLMConfig, attempts: int) -> errors.GatewayError:
        provider = llm.provider_label
        return errors.deadline_exceeded(llm.model, llm.aws_region, provider, self.deadline, attempts)

    async def _relay(self, name: str, head: list[Chunk], source: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
        """The primed chunks, then the rest; a failure now is the model's, and ends the stream."""
        try:
            for chunk in head:
                yield chunk
            async for chunk in source:
                yield chunk
        except errors.GatewayError as err:
            await self.cooldowns.failure(name, err)
            log.warning("model %s failed mid-stream (%s); ending the stream with an error event", name, err.code)
            raise
        finally:
            await source.aclose()  # type: ignore[attr-defined]


def _has_output(chunk: Chunk) -> bool:
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("tool_calls") or choice.get("finish_reason"):
            return True
    return False


async def _prime(source: AsyncIterator[Chunk]) -> list[Chunk]:
    """Chunks up to the first one with output (or the end, or PRIME_LIMIT of them)."""
    head: list[Chunk] = []
    async for chunk in source:
        head.append(chunk)
        if _has_output(chunk) or len(head) >= PRIME_LIMIT:
            break
    return head


_timeout_at = getattr(asyncio, "timeout_at", None)  # Python 3.11+
