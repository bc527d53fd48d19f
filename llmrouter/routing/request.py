"""The request model selection reads: the few fields a strategy looks at, as Protocols.

Routing is library code (the CLI's ``infer`` routes too), so it does not import the server's
pydantic schemas: the server's ``ChatRequest`` (or any object with these attributes)
satisfies :class:`RoutedRequest` structurally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["RoutedFunction", "RoutedFunctionCall", "RoutedMessage", "RoutedRequest", "RoutedTool", "RoutedToolCall"]


class RoutedFunctionCall(Protocol):
    """A tool call's function, as far as routing reads it (its size counts toward the prompt)."""

    @property
    def name(self) -> str: ...
    @property
    def arguments(self) -> str: ...


class RoutedToolCall(Protocol):
    @property
    def function(self) -> RoutedFunctionCall: ...


class RoutedMessage(Protocol):
    """One chat message: who wrote it and what it says (string or OpenAI content parts)."""

    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str | Sequence[Mapping[str, Any]] | None: ...
    @property
    def tool_calls(self) -> Sequence[RoutedToolCall] | None: ...


class RoutedFunction(Protocol):
    """A declared tool's function: name, description and JSON-schema parameters."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def parameters(self) -> Mapping[str, Any] | None: ...


class RoutedTool(Protocol):
    @property
    def function(self) -> RoutedFunction: ...


class RoutedRequest(Protocol):
    """The fields of a chat request that model selection reads."""

    @property
    def model(self) -> str: ...
    @property
    def messages(self) -> Sequence[RoutedMessage]: ...
    @property
    def tools(self) -> Sequence[RoutedTool] | None: ...
    @property
    def max_tokens(self) -> int | None: ...
    @property
    def max_completion_tokens(self) -> int | None: ...
