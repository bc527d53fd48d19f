"""What every strategy shares: the seam (:class:`Strategy`) and reading a request's text."""

from __future__ import annotations

from typing import Protocol

from llmrouter.routing.request import RoutedMessage, RoutedRequest

__all__ = ["Strategy", "last_user_text", "message_text"]


class Strategy(Protocol):
    """Chooses the model for a ``model: "auto"`` request: one name from the router's pool.

    ``choose`` never raises for a well-formed request: a strategy that cannot decide
    returns its documented default instead, so routing never costs the client an answer.
    """

    name: str

    async def choose(self, request: RoutedRequest) -> str: ...


def message_text(message: RoutedMessage) -> str:
    """The text a message carries: its string content, or its text parts joined by newlines."""
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(str(part.get("text") or "") for part in content if part.get("type") == "text")


def last_user_text(request: RoutedRequest) -> str:
    """The text of the last ``user`` message ("" if there is none).

    Routing looks at what the user wrote last, never at earlier turns, system prompts or tool
    results: those may carry text the user did not write (an injected instruction in a web
    page a tool fetched, say).
    """
    for message in reversed(request.messages):
        if message.role == "user":
            return message_text(message)
    return ""
