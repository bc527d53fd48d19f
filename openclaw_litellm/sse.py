"""Server-Sent Events framing: the one serializer for HTTP streams and WS frames.

Two dialects: chat streams send ``data: {...}\\n\\n`` and end with ``data: [DONE]``
(:class:`ChatFrames`); the Responses API names each event after its ``type`` and has no
``[DONE]`` (:class:`NamedEvents`). The original OpenClaw Router sends the chat text over
WebSocket too, so both transports use these bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from llmrouter.errors import GatewayError
from openclaw_litellm.guarded_stream import Frames

__all__ = ["DONE", "ChatFrames", "NamedEvents", "encode", "encode_error", "encode_named"]

DONE = b"data: [DONE]\n\n"


def encode(event: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(event) + b"\n\n"


def encode_error(err: GatewayError) -> bytes:
    return encode(err.to_dict())


def encode_named(event: dict[str, Any]) -> bytes:
    """One event named after its ``type``: ``event: <type>`` and its JSON ``data``."""
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class ChatFrames:
    """A chat stream: each chunk, an error event if it breaks, and ``[DONE]`` either way."""

    def start(self) -> Iterable[bytes]:
        return ()

    def feed(self, chunk: dict[str, Any]) -> Iterable[bytes]:
        return (encode(chunk),)

    def fail(self, err: GatewayError) -> Iterable[bytes]:
        return (encode_error(err), DONE)

    def finish(self) -> Iterable[bytes]:
        return (DONE,)


class NamedEvents:
    """Event dicts from other frames (the Responses API's), framed by :func:`encode_named`."""

    def __init__(self, events: Frames[dict[str, Any]]) -> None:
        self.events = events

    def start(self) -> Iterable[bytes]:
        return map(encode_named, self.events.start())

    def feed(self, chunk: dict[str, Any]) -> Iterable[bytes]:
        return map(encode_named, self.events.feed(chunk))

    def fail(self, err: GatewayError) -> Iterable[bytes]:
        return map(encode_named, self.events.fail(err))

    def finish(self) -> Iterable[bytes]:
        return map(encode_named, self.events.finish())
