"""The strategies that need no look at the request: ``first``, ``random``, ``round_robin``."""

from __future__ import annotations

import bisect
import itertools
import random as _random
from collections.abc import Mapping, Sequence

from llmrouter.routing.request import RoutedRequest


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

    Safe under concurrency: ``choose`` never awaits, so on the event loop no two requests can
    interleave inside it, and ``next()`` on an ``itertools.count`` is atomic under the GIL
    should it ever be called from several threads.
    """

    name = "round_robin"

    def __init__(self, pool: Sequence[str]) -> None:
        self.names = tuple(pool)
        self._counter = itertools.count()

    async def choose(self, request: RoutedRequest) -> str:
        return self.names[next(self._counter) % len(self.names)]
