"""Per-model health for fallbacks: a model that keeps failing is tried last for a while.

A circuit breaker in its simplest form. ``cooldown_after`` consecutive retryable failures
(throttling, 5xx, timeouts, connection errors) put a model in cooldown for ``cooldown``
seconds; so does a ``Retry-After`` from the provider, for as long as it asks (at most
``cooldown``). A cooling model is not dropped: it goes to the end of the candidates, so it
still serves when it is the only one left. After the cooldown one more failure cools it
again at once; one success forgets everything. Client errors (400...) say nothing about a
model's health and change nothing.

State lives on the event loop's thread and is only touched between awaits: no locks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from llmrouter import errors

__all__ = ["Cooldowns"]

T = TypeVar("T", bound=tuple)


class Cooldowns:
    def __init__(self, after: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.after = after
        self.seconds = seconds
        self.clock = clock
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def cooling(self, name: str) -> bool:
        until = self._until.get(name)
        return until is not None and self.clock() < until

    def order(self, candidates: Sequence[T]) -> Sequence[T]:
        """``(name, ...)`` candidates with cooling ones moved to the end (order kept otherwise)."""
        if not self._until:
            return candidates
        ready = [c for c in candidates if not self.cooling(c[0])]
        if len(ready) == len(candidates):
            return candidates
        return ready + [c for c in candidates if self.cooling(c[0])]

    def failure(self, name: str, err: errors.GatewayError) -> None:
        if not err.retryable or self.seconds <= 0:
            return
        count = self._failures[name] = self._failures.get(name, 0) + 1
        now = self.clock()
        until = self._until.get(name, 0.0)
        if count >= self.after:
            until = max(until, now + self.seconds)
        if err.retry_after:
            until = max(until, now + min(err.retry_after, self.seconds))
        if until > now:
            self._until[name] = until

    def success(self, name: str) -> None:
        if name in self._failures or name in self._until:
            self._failures.pop(name, None)
            self._until.pop(name, None)
