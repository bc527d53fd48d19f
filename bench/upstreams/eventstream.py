"""AWS event-stream encoding (``application/vnd.amazon.eventstream``), as Bedrock's
ConverseStream sends it.

One message::

    total length (u32) | headers length (u32) | prelude CRC32 (u32)
    headers | payload | message CRC32 (u32, over everything before it)

Each header: name length (u8), name, value type (u8; 7 = string), value length (u16), value.
All integers big-endian; CRCs are zlib.crc32. ``python -m bench.upstreams.eventstream``
checks the encoder against botocore's decoder and against a recorded Bedrock stream.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import orjson

__all__ = ["encode_message", "encode_event", "encode_exception", "CONVERSE_STREAM_CONTENT_TYPE"]

CONVERSE_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def _headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        n = name.encode("utf-8")
        v = value.encode("utf-8")
        out += struct.pack(">B", len(n)) + n + struct.pack(">BH", _STRING, len(v)) + v
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One binary event-stream message with string headers."""
    head = _headers(headers)
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + head + payload
    return message + struct.pack(">I", zlib.crc32(message))


def encode_event(event_type: str, body: dict[str, Any]) -> bytes:
    """A ConverseStream event (messageStart, contentBlockDelta, ..., metadata)."""
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        orjson.dumps(body),
    )


def encode_exception(exception_type: str, message: str) -> bytes:
    """A mid-stream exception (e.g. throttlingException, modelStreamErrorException)."""
    return encode_message(
        {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
        orjson.dumps({"message": message}),
    )


def _selfcheck() -> None:
    """Decode our frames with botocore; re-encode a real recording byte for byte."""
    import base64
    from pathlib import Path

    from botocore.eventstream import EventStreamBuffer

    frames = encode_event("messageStart", {"role": "assistant"}) + encode_event(
        "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "héllo"}}
    ) + encode_exception("throttlingException", "slow down")
    buf = EventStreamBuffer()
    # feed in awkward pieces, as TCP would
    for i in range(0, len(frames), 7):
        buf.add_data(frames[i : i + 7])
    decoded = list(buf)
    assert [m.headers[":event-type"] for m in decoded[:2]] == ["messageStart", "contentBlockDelta"], decoded
    assert orjson.loads(decoded[1].payload)["delta"]["text"] == "héllo"
    assert decoded[2].headers[":exception-type"] == "throttlingException"
    print(f"ok: botocore decoded {len(decoded)} frames with valid prelude and message CRCs")

    recorded = Path(__file__).resolve().parents[2] / "cassettes/reference/opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml"
    if recorded.exists():
        import yaml

        body = yaml.safe_load(recorded.read_text())["interactions"][0]["response"]["body"]["string"]
        raw = body if isinstance(body, bytes) else base64.b64decode(body)
        buf = EventStreamBuffer()
        buf.add_data(raw)
        again = b"".join(encode_message(dict(m.headers), m.payload) for m in buf)
        assert again == raw, "re-encoding the recorded Bedrock stream did not give the same bytes"
        print(f"ok: re-encoded the recorded Bedrock ConverseStream ({len(raw)} bytes) byte for byte")


if __name__ == "__main__":
    _selfcheck()
