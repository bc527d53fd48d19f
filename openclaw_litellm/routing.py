"""Model selection: a request's ``model`` (a configured name or ``auto``) to the ordered
list of models to try, primary first, then ``router.fallback_models``.
"""

from __future__ import annotations

from llmrouter import errors
from openclaw_litellm.config import LLMConfig, OpenClawConfig
from openclaw_litellm.schemas import ChatRequest

__all__ = ["AUTO", "Router", "STRATEGIES"]

AUTO = "auto"
STRATEGIES = frozenset({"first"})


class Router:
    def __init__(self, config: OpenClawConfig) -> None:
        if config.router.strategy not in STRATEGIES:
            raise ValueError(f"unknown router strategy '{config.router.strategy}' (known: {', '.join(sorted(STRATEGIES))})")
        self.config = config
        self.names = list(config.llms)

    def select(self, request: ChatRequest) -> list[tuple[str, LLMConfig]]:
        """``[(name, llm), ...]``: the chosen model, then its fallbacks (no repeats)."""
        if request.model == AUTO:
            primary = self.names[0]
        elif request.model in self.config.llms:
            primary = request.model
        else:
            raise errors.unknown_model(request.model, self.names)
        order = [primary] + [n for n in self.config.router.fallback_models if n != primary]
        return [(name, self.config.llms[name]) for name in order]
