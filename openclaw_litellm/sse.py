"""OpenAI Server-Sent Events framing: the one serializer for HTTP streams and WS frames.

The original OpenClaw Router sends the same ``data: {...}\\n\\n`` text over WebSocket, so
both transports use these bytes.
"""

from __future__ import annotations

from typing import Any

import orjson

from llmrouter.errors import GatewayError

__all__ = ["DONE", "encode", "encode_error"]

DONE = b"data: [DONE]\n\n"


def encode(event: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(event) + b"\n\n"


def encode_error(err: GatewayError) -> bytes:
    return encode(err.to_dict())
