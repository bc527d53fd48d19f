"""Model selection: a request's ``model`` to the ordered models to try.

``model: "auto"`` goes to the configured strategy (``router.strategy``), one class per
strategy behind the :class:`~llmrouter.routing.base.Strategy` seam:

===============  ==========================================================================
``first``        the first model of the pool (default)
``random``       weighted random (:mod:`.simple`)
``round_robin``  each model in turn (:mod:`.simple`)
``rules``        keywords in the last user message (:mod:`.rules`)
``llm``          a router model picks from the descriptions (:mod:`.llm`)
``cost``         the cheapest model whose context fits (:mod:`.cost`)
``trained``      a router learned from data by ``llmrouter train`` (:mod:`.trained`)
``custom``       a class of yours, named in the YAML (:mod:`.custom`)
===============  ==========================================================================

A configured model name is served by that model. Either way ``router.fallback_models``
follow, in order and without repeats; what to do when a model fails is the job of
:mod:`openclaw_litellm.completions` (the server).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from llmrouter import errors
from llmrouter.config import ROUTER_STRATEGIES, LLMConfig, OpenClawConfig
from llmrouter.routing.base import Strategy, last_user_text
from llmrouter.routing.cost import Cheapest
from llmrouter.routing.custom import load_custom
from llmrouter.routing.llm import Completer, LLMChooser
from llmrouter.routing.request import RoutedRequest
from llmrouter.routing.rules import Rules
from llmrouter.routing.simple import First, RoundRobin, WeightedRandom
from llmrouter.routing.trained import build_trained
from llmrouter.state import StateStore

__all__ = ["AUTO", "Candidates", "RoutedRequest", "Router", "STRATEGIES", "Strategy", "build_strategy", "last_user_text"]

AUTO = "auto"

Candidates = tuple[tuple[str, LLMConfig], ...]

_BUILDERS: dict[str, Callable[[OpenClawConfig, list[str], str, StateStore | None], Strategy]] = {
    "first": lambda config, pool, default, store: First(pool),
    "random": lambda config, pool, default, store: WeightedRandom(pool, config.router.weights, random.Random()),
    "round_robin": lambda config, pool, default, store: RoundRobin(pool, store),
    "rules": lambda config, pool, default, store: Rules(config.router.rules, default),
    "llm": lambda config, pool, default, store: LLMChooser(
        pool, config.llms, config.router.router_model or "", default, config.router.timeout, config.router.router_llm
    ),
    "cost": lambda config, pool, default, store: Cheapest(pool, config.llms),
    "trained": lambda config, pool, default, store: build_trained(config, pool),
    "custom": lambda config, pool, default, store: load_custom(config, pool, default),
}
STRATEGIES = frozenset(_BUILDERS)
assert STRATEGIES == frozenset(ROUTER_STRATEGIES), "config.ROUTER_STRATEGIES and the routing registry disagree"


def build_strategy(config: OpenClawConfig, store: StateStore | None = None) -> Strategy:
    """The strategy ``config.router`` names (the config has already checked the name); ``store``
    holds what a strategy shares across workers and instances (the round-robin position)."""
    router = config.router
    builder = _BUILDERS[router.strategy]
    pool = router.pool(list(config.llms))
    return builder(config, pool, router.default or pool[0], store)


class Router:
    """``select(request)`` -> the candidates to try: the chosen model, then its fallbacks."""

    def __init__(self, config: OpenClawConfig, backend: Completer | None = None, store: StateStore | None = None) -> None:
        self.config = config
        self.names = list(config.llms)
        self.strategy = build_strategy(config, store)
        fallbacks = config.router.fallback_models
        # One precomputed, immutable plan per primary: select() does a dict lookup, no copying.
        self._plans: dict[str, Candidates] = {
            primary: tuple((name, config.llms[name]) for name in dict.fromkeys([primary, *fallbacks]))
            for primary in self.names
        }
        if backend is not None:
            self.bind(backend)

    def bind(self, backend: Completer) -> None:
        """Give the ``llm`` strategy the backend that calls its router model."""
        if isinstance(self.strategy, LLMChooser):
            self.strategy.backend = backend

    async def select(self, request: RoutedRequest) -> Candidates:
        model = request.model
        if model == AUTO:
            model = await self.strategy.choose(request)
        plan = self._plans.get(model)
        if plan is None:
            raise errors.unknown_model(model, self.names)
        return plan
