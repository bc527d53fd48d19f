"""The strategies that need no look at the request: ``first``, ``random``, ``round_robin``."""

from __future__ import annotations

import bisect
import itertools
import random as _random
from collections.abc import Mapping, Sequence

from llmrouter.routing.request import RoutedRequest
from llmrouter.state import StateStore, pool_name

__all__ = ["First", "RoundRobin", "WeightedRandom"]


class First:
    """Always the first model of the pool (the default: predictable, zero cost)."""

    name = "first"

    def __init__(self, pool: Sequence[str]) -> None:
        self.model = pool[0]

    async def choose(self, request: RoutedRequest) -> str:
        return self.model


class WeightedRandom:
    """A random model, each as likely as its integer weight (unlisted: 1; 0: never).

    ``rng`` is any ``random.Random``; tests pass a seeded one.
    """

    name = "random"

    def __init__(self, pool: Sequence[str], weights: Mapping[str, int], rng: _random.Random | None = None) -> None:
        pairs = [(name, weights.get(name, 1)) for name in pool]
        self.names = [name for name, weight in pairs if weight > 0]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs if weight > 0))
        self.total = self.cumulative[-1]
        self.rng = rng or _random.Random()

    async def choose(self, request: RoutedRequest) -> str:
        # bisect on one uniform draw: O(log n), and the same draw always gives the same model.
        return self.names[bisect.bisect_right(self.cumulative, self.rng.random() * self.total)]


class RoundRobin:
    """Each model in turn.

    With a state store the position is the store's (``state.redis_url``: one rotation across
    every worker and instance; the store's increment is atomic). Without one, an
    ``itertools.count``: ``choose`` never awaits it, so no two requests interleave there.
    """

    name = "round_robin"

    def __init__(self, pool: Sequence[str], store: StateStore | None = None) -> None:
        self.names = tuple(pool)
        self.store = store
        self.pool = pool_name(self.names)
        self._counter = itertools.count()

    async def choose(self, request: RoutedRequest) -> str:
        turn = next(self._counter) if self.store is None else await self.store.next_turn(self.pool)
        return self.names[turn % len(self.names)]
