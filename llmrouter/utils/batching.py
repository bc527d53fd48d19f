"""How many calls of a batch run at once: the one gate, for ``call_api`` and ``llmrouter infer``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

__all__ = ["BATCH_CONCURRENCY", "bounded"]

T = TypeVar("T")

BATCH_CONCURRENCY = 16  # calls in flight at most: enough to hide latency, few enough for rate limits


def bounded(calls: Iterable[Awaitable[T]], limit: int = BATCH_CONCURRENCY) -> list[Awaitable[T]]:
    """Each awaitable behind one shared gate: at most ``limit`` of them run at any time.

    Hand the result to ``asyncio.gather`` (results in input order) or ``asyncio.as_completed``
    (results as they finish). A coroutine does not start before its turn at the gate.
    """
    gate = asyncio.Semaphore(limit)

    async def gated(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return [gated(call) for call in calls]
