"""An example of `router: {strategy: custom, class: ...}`: long prompts go to a stronger model.

Load it with (the config's folder, or any folder on the Python path, holding this file):

    router:
      strategy: custom
      class: custom_strategy:LongPromptsTo
      options: {model: claude-sonnet, min_chars: 2000}

The contract is llmrouter.routing.base.Strategy (docs/routing.md, "custom").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmrouter.routing.base import last_user_text
from llmrouter.routing.request import RoutedRequest


class LongPromptsTo:
    """Prompts of at least ``min_chars`` characters go to ``model``; the others to the first model."""

    name = "long_prompts_to"

    def __init__(self, models: Sequence[str], llms: Mapping[str, Any], model: str | None = None, min_chars: int = 2000) -> None:
        self.short = models[0]
        self.long = model or models[-1]
        if self.long not in models:
            raise ValueError(f"options.model: '{self.long}' is not one of {', '.join(models)}")
        self.min_chars = min_chars

    async def choose(self, request: RoutedRequest) -> str:
        return self.long if len(last_user_text(request)) >= self.min_chars else self.short
