"""What the gateway does to an answer on its way to the client, streamed or not.

- ``model`` becomes the configured name that served the request (the client asked for
  ``auto`` or a name, not for the provider's id);
- with the prefix on, the first *content* starts with ``[name] ``; tool-call deltas are
  never touched and nothing is dropped or reordered;
- usage: providers put it on every chunk (NVIDIA), on the last one, or in a chunk with no
  choices (OpenAI, LiteLLM). Content chunks leave without it, and one usage chunk
  (``choices: []``) closes the stream when the client asked for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llmrouter.utils.openai_shapes import normalize_usage

__all__ = ["StreamShaper", "shape_completion"]


def shape_completion(completion: dict[str, Any], name: str, prefix: bool) -> dict[str, Any]:
    completion["model"] = name
    if prefix:
        for choice in completion.get("choices") or []:
            message = choice.get("message") or {}
            if message.get("content") is not None:
                message["content"] = f"[{name}] {message['content']}"
    return completion


class StreamShaper:
    """Rewrites provider chunks into the client's stream (see the module docstring)."""

    def __init__(self, name: str, prefix: bool, include_usage: bool) -> None:
        self.name = name
        self.prefix_pending = prefix
        self.include_usage = include_usage
        self.usage: dict[str, Any] | None = None
        self._id: str | None = None
        self._created: int | None = None
        self._role_sent = False

    def shape(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        """The client's chunk, or None when nothing of it is for the client (usage only)."""
        if "usage" in chunk:
            usage = chunk.pop("usage")
            if usage:
                self.usage = normalize_usage(usage)
        if self._id is None:
            self._id = chunk.get("id") or "chatcmpl-openclaw"
            self._created = chunk.get("created")
        choices = chunk.get("choices") or []
        if not choices:
            return None
        chunk["id"] = self._id
        chunk["created"] = self._created
        chunk["model"] = self.name
        chunk["object"] = "chat.completion.chunk"
        for choice in choices:
            delta = choice.get("delta")
            if delta is None:
                delta = choice["delta"] = {}
            if not self._role_sent:
                delta["role"] = "assistant"
                self._role_sent = True
            elif delta.get("role") is None:
                delta.pop("role", None)
            content = delta.get("content")
            if self.prefix_pending and content:
                delta["content"] = f"[{self.name}] {content}"
                self.prefix_pending = False
        return chunk

    def usage_chunk(self) -> dict[str, Any] | None:
        if not self.include_usage:
            return None
        return {
            "id": self._id or "chatcmpl-openclaw",
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self.name,
            "choices": [],
            "usage": self.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    async def run(self, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        async for chunk in chunks:
            shaped = self.shape(chunk)
            if shaped is not None:
                yield shaped
        final = self.usage_chunk()
        if final is not None:
            yield final
