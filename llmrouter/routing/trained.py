"""``trained``: a router learned by ``llmrouter train`` picks the model for each request.

The router directory (``router.path``) is loaded once, when the strategy is built, and every
check happens then: a missing, truncated or changed file, a featurizer version this code does
not compute, a candidate model that is not under ``llms``. Each stops the server (or ``infer``)
with one line naming the file and the problem; there is no silent fallback to another pick.

Per request the decision reads the last user message (as every strategy does), computes its
TF-IDF vector and the router's predicted score per model with numpy, and takes the best
score minus ``cost_weight`` x relative cost: well under a millisecond, no I/O, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from llmrouter.routing.base import last_user_text
from llmrouter.routing.request import RoutedRequest

if TYPE_CHECKING:
    from llmrouter.config import OpenClawConfig
    from llmrouter.training.router_dir import TrainedRouter

__all__ = ["Trained", "build_trained"]


class Trained:
    name = "trained"

    def __init__(self, router: "TrainedRouter", pool: Sequence[str], cost_weight: float | None) -> None:
        from llmrouter.training import decision  # numpy: the `train` extra, loaded with the router

        self.router = router
        self.cost_weight = router.cost_weight if cost_weight is None else cost_weight
        allowed = set(pool)
        # Models outside the pool are never picked (an infinite penalty), computed once here.
        self._penalty = decision.penalty(router.relative_cost, self.cost_weight, [m in allowed for m in router.models])
        self._picks = decision.picks
        self._models = router.models

    def decide(self, text: str) -> str:
        return self._models[int(self._picks(self.router.predict(text), self._penalty))]

    async def choose(self, request: RoutedRequest) -> str:
        return self.decide(last_user_text(request))


def build_trained(config: "OpenClawConfig", pool: Sequence[str]) -> Trained:
    """Load ``router.path`` and check it against ``llms``; ValueError (one line) if unusable."""
    try:
        from llmrouter.training.router_dir import RouterLoadError, load_router
    except ImportError as exc:  # numpy is in the `train` extra
        raise ValueError(f"router.strategy `trained` needs numpy ({exc.name} is not installed): pip install 'llmrouter[train]'") from None
    path = config.router.path or ""
    try:
        router = load_router(path)
    except RouterLoadError as exc:
        raise ValueError(f"router.path: {exc}") from None
    missing = [m for m in router.models if m not in config.llms]
    if missing:
        raise ValueError(
            f"router.path: {router.path / 'manifest.json'}: the router picks among {', '.join(repr(m) for m in missing)}, "
            f"which {'is' if len(missing) == 1 else 'are'} not under `llms` (known: {', '.join(config.llms)}); "
            "add them or retrain the router on these models"
        )
    if not set(pool) & set(router.models):
        raise ValueError(f"router.models: none of them is a candidate of the router in {path} ({', '.join(router.models)})")
    return Trained(router, pool, config.router.cost_weight)
