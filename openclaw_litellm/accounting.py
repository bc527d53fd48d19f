"""Before and after a chat request: the caller's limits, then usage, cost and spend.

The chat service calls :meth:`Accounting.admit` before routing and :meth:`Accounting.settle`
with the answer's usage (a stream's usage arrives with its last chunk:
:meth:`Accounting.watch_stream`). Metrics (tokens, cost, rejections, time to first token,
streams in flight) are counted here too, so the service's retry loop stays about retries.

The caller's key comes from the request context (:mod:`openclaw_litellm.request_context`),
set by the key middleware; without ``serve.api_keys`` there is no key and no limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from llmrouter import errors
from llmrouter.limits import Limiter
from llmrouter.pricing import usage_cost
from llmrouter.utils.openai_shapes import usage_cache_counts
from llmrouter.state import StateStore
from openclaw_litellm import metrics, request_context

__all__ = ["Accounting"]

log = logging.getLogger("openclaw.accounting")

_REASONS = {"rate_limit_exceeded": None, "budget_exceeded": "budget", "model_not_allowed": "model"}


class Accounting:
    def __init__(self, store: StateStore, prices: Mapping[str, Any], known_models: set[str]) -> None:
        self.limiter = Limiter(store)
        self.prices = prices  # name -> the model's config entry (input_price, output_price...)
        self.known = known_models
        self._pending: set[asyncio.Task[Any]] = set()

    async def admit(self, model: str) -> None:
        """Raise the catalog's 403/429 when the caller's key may not make this request now."""
        context = request_context.current()
        if context is None:
            return
        if model in self.known:
            context.model = model  # a label for the metrics if the request fails before a model answers
        key = context.key
        if key is None:
            return
        try:
            await self.limiter.admit(key, model)
        except errors.GatewayError as err:
            reason = _REASONS.get(err.code) or ("rpm" if err.type == "requests" else "tpm")
            metrics.REJECTIONS.labels(reason).inc()
            log.info("key %s refused: %s", key.label, err.code)
            raise

    def first_output(self, model: str) -> None:
        """A stream's first output is ready (the answer has started)."""
        context = request_context.current()
        if context is not None:
            metrics.TTFT_SECONDS.labels(model).observe(time.perf_counter() - context.started)

    def settle(self, model: str, attempts: int, usage: Mapping[str, Any] | None) -> None:
        """Count an answer's usage and cost; add them to the caller's spend (in the background:
        the client does not wait on the store for its answer)."""
        context = request_context.current()
        if context is not None:
            context.attempts = attempts
            context.model = model
        if usage:
            cached, _ = usage_cache_counts(usage)
            for kind, value in (("prompt", usage.get("prompt_tokens")), ("completion", usage.get("completion_tokens")),
                                ("cached", cached)):
                if isinstance(value, int) and value > 0:
                    metrics.TOKENS.labels(model, kind).inc(value)
        llm = self.prices.get(model)
        if llm is None or not usage:
            return
        cost = usage_cost(usage, llm)
        if cost:
            metrics.COST.labels(model).inc(cost)
        key = context.key if context is not None else None
        if key is not None:
            task = asyncio.ensure_future(self.limiter.record(key, model, usage, llm))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def watch_stream(self, model: str, attempts: int, chunks: AsyncIterator[dict[str, Any]],
                           usage: Callable[[], Mapping[str, Any] | None]) -> AsyncIterator[dict[str, Any]]:
        """``chunks`` passed through; at the end (or when the client leaves) the usage is settled."""
        metrics.STREAMS.inc()
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            metrics.STREAMS.dec()
            self.settle(model, attempts, usage())

    async def flush(self) -> None:
        """Wait for spend records still being written (tests, shutdown)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
