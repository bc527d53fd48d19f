"""``--model auto`` outside the server: the config's ``router.strategy`` picks per query.

``infer --model auto`` and ``generate`` build the same strategy object as ``serve`` (from
:mod:`llmrouter.routing`) and hand it a request shaped like the server's, so a query is routed
exactly as it would be over HTTP. The ``llm`` strategy needs the server's backend to call its
router model and is refused here with a one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmrouter.commands import CommandError, ModelChoice, model_choice

if TYPE_CHECKING:
    from llmrouter.config import OpenClawConfig

__all__ = ["AutoRoute"]


@dataclass(frozen=True)
class _Message:
    role: str
    content: Any
    tool_calls: Any = None


@dataclass(frozen=True)
class _Request:
    """The fields of the server's ChatRequest that strategies read (RoutedRequest)."""

    messages: list[_Message]
    model: str = "auto"
    tools: Any = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class AutoRoute:
    """``await choice_for(item)`` -> the :class:`ModelChoice` the strategy picks for it."""

    def __init__(self, config: "OpenClawConfig") -> None:
        from llmrouter.routing import build_strategy

        if config.router.strategy == "llm":
            raise CommandError("--model auto with router.strategy `llm` needs the gateway (`llmrouter serve`); pick a --model")
        try:
            self.strategy = build_strategy(config)
        except ValueError as exc:
            raise CommandError(f"{config.source}: {exc}") from None
        self.config = config
        self._choices: dict[str, ModelChoice] = {}

    async def choice_for(self, item: dict[str, Any]) -> ModelChoice:
        messages = item.get("messages")
        if isinstance(messages, list):
            turns = [_Message(str(m.get("role", "")), m.get("content")) for m in messages if isinstance(m, dict)]
        else:
            turns = [_Message("user", str(item.get("query") or ""))]
        name = await self.strategy.choose(_Request(turns, max_tokens=item.get("max_tokens")))
        if name not in self._choices:
            self._choices[name] = model_choice(self.config, name)
        return self._choices[name]
