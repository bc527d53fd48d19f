"""Per-model health for fallbacks: a model that keeps failing is tried last for a while.

A circuit breaker in its simplest form. ``cooldown_after`` consecutive retryable failures
(throttling, 5xx, timeouts, connection errors) put a model in cooldown for ``cooldown``
seconds; so does a ``Retry-After`` from the provider, for as long as it asks (at most
``cooldown``). A cooling model is not dropped: it goes to the end of the candidates, so it
still serves when it is the only one left. After the cooldown one more failure cools it
again at once; one success forgets everything. Client errors (400...) say nothing about a
model's health and change nothing.

The state lives in the :class:`~llmrouter.state.StateStore`: in process by default, in Redis
with ``state.redis_url``, where a model cooled by one instance is tried last by all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from llmrouter import errors
from llmrouter.state import LocalStore, StateStore
from openclaw_litellm import metrics

__all__ = ["Cooldowns"]

T = TypeVar("T", bound=tuple)


class Cooldowns:
    def __init__(self, after: int, seconds: float, store: StateStore | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.after = after
        self.seconds = seconds
        self.store = store if store is not None else LocalStore(clock)
        # Models this process last saw with failures on record: a success clears only those,
        # so a healthy model's success costs no call to the store.
        self._on_record: set[str] = set()
        # What this process's cooldown gauge shows per model: it is written only when that
        # changes (in multiprocess mode every write is a file write, and during an incident
        # every request reads every model's marks).
        self._shown: dict[str, int] = {}

    def _show(self, name: str, cooling: bool) -> None:
        value = 1 if cooling else 0
        if self._shown.get(name) != value:
            self._shown[name] = value
            metrics.COOLDOWN.labels(name).set(value)

    async def order(self, candidates: Sequence[T]) -> Sequence[T]:
        """``(name, ...)`` candidates with cooling ones moved to the end (order kept otherwise)."""
        return self.arrange(candidates, await self.marks([c[0] for c in candidates]))

    async def marks(self, names: Sequence[str]) -> dict[str, bool]:
        """Those of ``names`` with failures on record, True for those cooling (one store read)."""
        marks = await self.store.failures(names)
        if marks or self._on_record:
            for name in names:
                cooling = marks.get(name)
                if cooling is None:
                    self._on_record.discard(name)
                else:
                    self._on_record.add(name)
                self._show(name, bool(cooling))
        return marks

    @staticmethod
    def arrange(candidates: Sequence[T], marks: dict[str, bool]) -> Sequence[T]:
        """``candidates`` with those ``marks`` says are cooling moved to the end."""
        if not any(marks.values()):
            return candidates
        return [c for c in candidates if not marks.get(c[0])] + [c for c in candidates if marks.get(c[0])]

    async def cooling(self, name: str) -> bool:
        return bool((await self.store.failures([name])).get(name))

    async def failure(self, name: str, err: errors.GatewayError) -> bool:
        """Count a failure of ``name``; True when it is in cooldown now."""
        if not err.retryable or self.seconds <= 0:
            return False
        self._on_record.add(name)
        cooling = await self.store.failed(name, self.after, self.seconds, err.retry_after)
        self._show(name, cooling)
        return cooling

    async def success(self, name: str) -> None:
        if name in self._on_record:
            self._on_record.discard(name)
            await self.store.succeeded(name)
            self._show(name, False)
