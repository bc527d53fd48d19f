"""The loopback upstream every test uses: a tiny HTTP server on 127.0.0.1, and bodies it answers.

:class:`LoopbackUpstream` answers ``route(UpstreamRequest) -> StubReply`` from a thread and
keeps every request it received. It plays OpenAI-compatible providers and Bedrock Runtime
(the gateway's ``base_url`` override) alike. The fault stub in :mod:`fault_upstream` is the
other loopback server: it runs on asyncio to notice the moment a peer hangs up, which a
blocking server cannot.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LoopbackUpstream", "StubReply", "UpstreamRequest", "completion_body", "converse_body",
    "openai_completion_body", "openai_sse_parts", "recorded_converse_stream_frames", "sse", "sse_answer",
]

REFERENCE = Path(__file__).resolve().parent.parent / "cassettes" / "reference"


@dataclass
class UpstreamRequest:
    """One request a loopback upstream received; ``number`` counts them from 1."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    number: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StubReply:
    """What a :class:`LoopbackUpstream` answers.

    ``body`` (bytes, text, or a JSON-able value sent as ``application/json``) is sent with a
    Content-Length; ``parts`` are sent chunked, ``interval`` seconds apart. ``delay`` waits
    before the status line. ``abort`` drops the connection after the parts without finishing
    the body (a provider dying mid-stream).
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    parts: list[bytes] | None = None
    interval: float = 0.0
    delay: float = 0.0
    abort: bool = False

    def body_bytes(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        self.headers.setdefault("content-type", "application/json")
        return json.dumps(self.body).encode()


Route = Callable[[UpstreamRequest], StubReply]


class LoopbackUpstream:
    """A tiny HTTP server on 127.0.0.1: ``route(UpstreamRequest) -> StubReply``; records requests."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.requests: list[UpstreamRequest] = []
        self.broken = 0  # replies cut short because the client (the gateway) went away
        self.completed = 0  # replies written in full
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = UpstreamRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with upstream._lock:
                    upstream.requests.append(request)
                    request.number = len(upstream.requests)
                reply = upstream.route(request)
                if reply.delay and upstream.stopping.wait(reply.delay):
                    return
                self.close_connection = True
                try:
                    self._reply(reply)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                    upstream.broken += 1
                else:
                    upstream.completed += 1

            def _reply(self, reply: StubReply) -> None:
                body = reply.body_bytes() if reply.parts is None else b""
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("connection", "close")
                if reply.parts is None:
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    return
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for i, part in enumerate(reply.parts):
                    if i and reply.interval and upstream.stopping.wait(reply.interval):
                        return
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
                if reply.abort:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            do_POST = do_GET = _handle  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


# --- bodies a loopback upstream answers -------------------------------------------------------


def openai_completion_body(text: str, model: str = "stub-model", usage: tuple[int, int] = (3, 5)) -> bytes:
    """An OpenAI ``chat.completion`` JSON body."""
    return json.dumps(completion_body(text, model, usage)).encode()


def completion_body(text: str, model: str = "loopback-model", usage: tuple[int, int] = (3, 2)) -> dict[str, Any]:
    """A non-streamed OpenAI ``chat.completion`` answering ``text``, as a dict."""
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def sse(chunks: list[dict[str, Any]], done: bool = True) -> list[bytes]:
    """OpenAI-style Server-Sent Events for ``chunks``, ending with ``[DONE]`` unless told not to."""
    return [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + ([b"data: [DONE]\n\n"] if done else [])


def openai_sse_parts(pieces: list[str], model: str = "stub-model", usage: tuple[int, int] = (3, 5), done: bool = True) -> list[bytes]:
    """OpenAI SSE events for ``pieces`` of content: role chunk, contents, finish, usage, [DONE]."""
    base = {"id": "chatcmpl-loopback", "object": "chat.completion.chunk", "created": 1700000000, "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}})
    return sse(chunks, done)


def sse_answer(text: str, model: str = "loopback-model") -> list[bytes]:
    """An SSE stream that writes ``text`` word by word, then a finish and a usage chunk."""
    words = text.split(" ")
    return openai_sse_parts([w if i == 0 else " " + w for i, w in enumerate(words)], model, (5, len(words)))


def converse_body(text: str, usage: tuple[int, int] = (1, 2)) -> bytes:
    """A Bedrock Converse JSON answer, as a loopback Bedrock stub sends it."""
    return json.dumps(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": usage[0], "outputTokens": usage[1], "totalTokens": sum(usage)},
        }
    ).encode()


def recorded_converse_stream_frames(relative: str = "opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml") -> list[bytes]:
    """The AWS event-stream frames of a recorded ConverseStream answer, byte for byte, one per item."""
    import yaml

    data = yaml.safe_load((REFERENCE / relative).read_text())
    raw = data["interactions"][0]["response"]["body"]["string"]
    raw = raw if isinstance(raw, bytes) else raw.encode("latin-1")
    frames = []
    while raw:
        size = int.from_bytes(raw[:4], "big")  # each frame starts with its total length
        frames.append(raw[:size])
        raw = raw[size:]
    return frames
