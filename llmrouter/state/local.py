"""In-process state: the default, and what :class:`RedisStore` falls back to while Redis is away.

Everything runs on the event loop's thread between two awaits, so no operation can interleave
with another: no locks. Nothing grows without bound: windows drop buckets older than a
minute, spend drops past periods, cooldown entries go on success.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence

from llmrouter.state.base import BUCKET_S, SPEND_EPSILON, WINDOW_S, KeyLimits, Refusal, cooldown_until, period_start

__all__ = ["LocalStore"]


class _Window:
    """A sliding minute of per-second buckets: ``[second, amount]``, oldest first."""

    __slots__ = ("buckets",)

    def __init__(self) -> None:
        self.buckets: deque[list[int]] = deque()

    def used(self, now: float) -> int:
        horizon = int(now) - WINDOW_S + BUCKET_S
        while self.buckets and self.buckets[0][0] < horizon:
            self.buckets.popleft()
        return sum(amount for _, amount in self.buckets)

    def retry_after(self, now: float) -> float:
        """Seconds until the oldest bucket leaves the window (at least 1)."""
        oldest = self.buckets[0][0] if self.buckets else int(now)
        return max(oldest + WINDOW_S - now, 1.0)

    def add(self, now: float, amount: int) -> None:
        second = int(now)
        if self.buckets and self.buckets[-1][0] == second:
            self.buckets[-1][1] += amount
        else:
            self.buckets.append([second, amount])


class LocalStore:
    """:class:`~llmrouter.state.base.StateStore` in this process; ``clock`` is wall time (tests pass their own)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._turns: dict[str, int] = defaultdict(int)
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}
        self._requests: dict[str, _Window] = defaultdict(_Window)
        self._tokens: dict[str, _Window] = defaultdict(_Window)
        # (key, period length) -> (start of the current period, USD per model): one period kept.
        self._spend: dict[tuple[str, int], tuple[int, dict[str, float]]] = {}

    async def next_turn(self, pool: str) -> int:
        turn = self._turns[pool]
        self._turns[pool] = turn + 1
        return turn

    async def failures(self, names: Sequence[str]) -> dict[str, bool]:
        if not self._failures:
            return {}
        now = self.clock()
        return {name: self._until.get(name, 0.0) > now for name in names if name in self._failures}

    async def failed(self, name: str, after: int, seconds: float, retry_after: float | None) -> bool:
        now = self.clock()
        failures = self._failures[name] = self._failures.get(name, 0) + 1
        until = cooldown_until(now, failures, self._until.get(name, 0.0), after, seconds, retry_after)
        if until > now:
            self._until[name] = until
            return True
        return False

    async def succeeded(self, name: str) -> None:
        self._failures.pop(name, None)
        self._until.pop(name, None)

    async def admit(self, key: str, limits: KeyLimits) -> Refusal | None:
        now = self.clock()
        if limits.budget_usd is not None:
            period = limits.budget_period
            spent = sum(self._current_spend(key, period, now).values())
            if spent >= limits.budget_usd - SPEND_EPSILON:
                return Refusal("budget", max(period_start(now, period) + period - now, 1.0), limits.budget_usd)
        if limits.tpm is not None:
            tokens = self._tokens[key]
            if tokens.used(now) >= limits.tpm:
                return Refusal("tpm", tokens.retry_after(now), limits.tpm)
        if limits.rpm is not None:
            requests = self._requests[key]
            if requests.used(now) + 1 > limits.rpm:
                return Refusal("rpm", requests.retry_after(now), limits.rpm)
            requests.add(now, 1)
        return None

    async def record_usage(self, key: str, model: str, tokens: int, usd: float, budget_period: int) -> None:
        now = self.clock()
        if tokens:
            self._tokens[key].add(now, tokens)
        start = period_start(now, budget_period)
        current = self._spend.get((key, budget_period))
        if current is None or current[0] != start:  # a new period starts from zero
            current = self._spend[(key, budget_period)] = (start, {})
        current[1][model] = current[1].get(model, 0.0) + usd

    async def spend(self, key: str, budget_period: int) -> dict[str, float]:
        return dict(self._current_spend(key, budget_period, self.clock()))

    def _current_spend(self, key: str, period: int, now: float) -> dict[str, float]:
        current = self._spend.get((key, period))
        return current[1] if current is not None and current[0] == period_start(now, period) else {}

    async def aclose(self) -> None:
        return None
