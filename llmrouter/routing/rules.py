"""``rules``: the first rule with a keyword in the last user message picks the model."""

from __future__ import annotations

from collections.abc import Sequence

from llmrouter.config import RoutingRule
from llmrouter.routing.base import last_user_text
from llmrouter.routing.request import RoutedRequest

__all__ = ["Rules"]


class Rules:
    """Keywords match as case-insensitive substrings ("code" matches "Decode this"), in rule
    order; with no match, ``default``. Only the last user message is read (see
    :func:`~llmrouter.routing.base.last_user_text`)."""

    name = "rules"

    def __init__(self, rules: Sequence[RoutingRule], default: str) -> None:
        self.rules = [(tuple(k.casefold() for k in rule.keywords), rule.model) for rule in rules]
        self.default = default

    async def choose(self, request: RoutedRequest) -> str:
        text = last_user_text(request).casefold()
        if text:
            for keywords, model in self.rules:
                for keyword in keywords:
                    if keyword in text:
                        return model
        return self.default
