"""Shared test setup: offline LiteLLM, dummy AWS credentials, cassette replay."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports LiteLLM or botocore: no network, no real AWS identity.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["AWS_ACCESS_KEY_ID"] = "AKIDTESTINGONLY0000"
os.environ["AWS_SECRET_ACCESS_KEY"] = "test-secret-key-not-real"
os.environ["AWS_CONFIG_FILE"] = "/nonexistent/aws-config"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/aws-credentials"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
REFERENCE = CASSETTES / "reference"


@contextlib.contextmanager
def replay(relative: str, *, repeat: bool = False) -> Iterator[object]:
    """Serve upstream HTTP from a cassette (method + URI matching); anything else fails."""
    import vcr

    player = vcr.VCR(
        match_on=["method", "scheme", "host", "port", "path", "query"],
        record_mode="none",
    )
    path = Path(relative)
    if not path.is_absolute():
        path = REFERENCE / relative if (REFERENCE / relative).exists() else CASSETTES / relative
    with player.use_cassette(str(path), allow_playback_repeats=repeat) as cassette:
        yield cassette


@pytest.fixture
def cassette():
    """``with cassette("weave/...yaml"):`` replays that recording."""
    return replay


# --- Gateway and loopback upstreams for the server tests (tests/test_server*.py, test_stream*.py) ---
#
# The gateway runs in-process under uvicorn in a daemon thread; the upstreams it calls are either
# replayed from cassettes (`replay_upstream`: loopback traffic passes through, so the test's own
# requests to the gateway are not intercepted) or served by `LoopbackUpstream` on 127.0.0.1.

from dataclasses import dataclass, field  # noqa: E402


@contextlib.contextmanager
def replay_upstream(relative: str | os.PathLike[str], *, repeat: bool = False) -> Iterator[object]:
    """Like :func:`replay`, but requests to 127.0.0.1 go out for real (the gateway, stubs)."""
    import vcr

    player = vcr.VCR(
        match_on=["method", "scheme", "host", "port", "path", "query"],
        record_mode="none",
        ignore_localhost=True,
    )
    path = Path(relative)
    if not path.is_absolute():
        path = REFERENCE / path if (REFERENCE / path).exists() else CASSETTES / path
    with player.use_cassette(str(path), allow_playback_repeats=repeat) as cassette:
        yield cassette


class RunningGateway:
    """One gateway app served by uvicorn on a loopback port, in a daemon thread."""

    def __init__(self, config: object, prefix: bool | None = None) -> None:
        import threading
        import time

        import uvicorn

        from openclaw_litellm.app import create_app
        from llmrouter.config import OpenClawConfig

        if isinstance(config, dict):
            config = OpenClawConfig.from_dict(config)
        self.config = config
        self.app = create_app(config, prefix=prefix)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="gateway", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.005)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.url}/v1"

    def client(self, **kwargs: object):  # noqa: ANN201 - openai.OpenAI
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key="sk-client-not-checked", max_retries=0, timeout=30, **kwargs)

    def aclient(self, **kwargs: object):  # noqa: ANN201 - openai.AsyncOpenAI
        import openai

        return openai.AsyncOpenAI(base_url=self.base_url, api_key="sk-client-not-checked", max_retries=0, timeout=30, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def gateway_factory() -> Iterator[object]:
    """``gateway_factory(config_dict_or_OpenClawConfig, prefix=None) -> RunningGateway``.

    Session-scoped so that module-scoped fixtures can share one gateway; all stop at the end.
    """
    started: list[RunningGateway] = []

    def start(config: object, prefix: bool | None = None) -> RunningGateway:
        gw = RunningGateway(config, prefix)
        started.append(gw)
        return gw

    yield start
    for gw in started:  # all at once: each uvicorn takes a moment to notice
        gw.server.should_exit = True
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway(gateway_factory):  # noqa: ANN001, ANN201
    """A function-scoped alias of :func:`gateway_factory` (same signature)."""
    return gateway_factory


@dataclass
class UpstreamRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        import json

        return json.loads(self.body)


@dataclass
class StubReply:
    """What a :class:`LoopbackUpstream` answers.

    ``body`` is sent with a Content-Length; ``parts`` are sent chunked, ``interval`` seconds
    apart. ``delay`` waits before the status line. ``abort`` drops the connection after the
    parts without finishing the body (a provider dying mid-stream).
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    parts: list[bytes] | None = None
    interval: float = 0.0
    delay: float = 0.0
    abort: bool = False


class LoopbackUpstream:
    """A tiny HTTP server on 127.0.0.1: ``route(UpstreamRequest) -> StubReply``; records requests."""

    def __init__(self, route) -> None:  # noqa: ANN001
        import http.server
        import socket
        import threading

        self.route = route
        self.requests: list[UpstreamRequest] = []
        self.broken = 0  # replies cut short because the client (the gateway) went away
        self.completed = 0  # replies written in full
        self.stopping = threading.Event()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = UpstreamRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                upstream.requests.append(request)
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
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("connection", "close")
                if reply.parts is None:
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
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

            def do_POST(self) -> None:  # noqa: N802
                self._handle()

            def do_GET(self) -> None:  # noqa: N802
                self._handle()

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


@pytest.fixture(scope="session")
def upstream_factory() -> Iterator[object]:
    """``upstream_factory(route) -> LoopbackUpstream`` (session-scoped; all stop at the end)."""
    started: list[LoopbackUpstream] = []

    def start(route) -> LoopbackUpstream:  # noqa: ANN001
        up = LoopbackUpstream(route)
        started.append(up)
        return up

    yield start
    for up in started:
        up.stop()


@pytest.fixture
def upstream(upstream_factory):  # noqa: ANN001, ANN201
    """A function-scoped alias of :func:`upstream_factory`."""
    return upstream_factory


def openai_completion_body(text: str, model: str = "stub-model", usage: tuple[int, int] = (3, 5)) -> bytes:
    """An OpenAI ``chat.completion`` JSON body, as a loopback upstream answers it."""
    import json

    return json.dumps(
        {
            "id": "chatcmpl-loopback",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
        }
    ).encode()


def openai_sse_parts(pieces: list[str], model: str = "stub-model", usage: tuple[int, int] = (3, 5), done: bool = True) -> list[bytes]:
    """OpenAI SSE events for ``pieces`` of content: role chunk, contents, finish, usage, [DONE]."""
    import json

    def event(choices: list[dict], **extra: object) -> bytes:
        chunk = {"id": "chatcmpl-loopback", "object": "chat.completion.chunk", "created": 1700000000, "model": model, "choices": choices, **extra}
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    parts = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    parts += [event([{"index": 0, "delta": {"content": p}, "finish_reason": None}]) for p in pieces]
    parts.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    parts.append(event([], usage={"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}))
    if done:
        parts.append(b"data: [DONE]\n\n")
    return parts


def converse_body(text: str, usage: tuple[int, int] = (1, 2)) -> bytes:
    """A Bedrock Converse JSON answer, as a loopback Bedrock stub sends it."""
    import json

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


# --- loopback HTTP servers (added for the call_api / CLI tests) ------------------------------

import json as _json
import threading as _threading
import time as _time
from collections.abc import Callable as _Callable
from dataclasses import dataclass as _dataclass, field as _field
from http.server import BaseHTTPRequestHandler as _BaseHandler, ThreadingHTTPServer as _ThreadingServer
from typing import Any as _Any


@_dataclass
class Received:
    """One request a loopback server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> _Any:
        return _json.loads(self.body)


@_dataclass
class Reply:
    """What a loopback server answers: ``body`` may be bytes, text, a JSON-able dict, or a
    list of byte chunks sent one by one (chunked encoding, for SSE streams)."""

    status: int = 200
    body: _Any = b""
    headers: dict[str, str] = _field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow upstream)


def sse(chunks: list[dict[str, _Any]]) -> list[bytes]:
    """OpenAI-style Server-Sent Events for ``chunks``, ending with ``[DONE]``."""
    return [f"data: {_json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def sse_answer(text: str, model: str = "loopback-model") -> list[bytes]:
    """An SSE stream that writes ``text`` word by word, then a finish and a usage chunk."""
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    base = {"id": "chatcmpl-loopback", "object": "chat.completion.chunk", "created": 1, "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": len(words), "total_tokens": 5 + len(words)}})
    return sse(chunks)


def completion_body(text: str, model: str = "loopback-model") -> dict[str, _Any]:
    """A non-streamed OpenAI ``chat.completion`` answering ``text``."""
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port) in a thread, answering ``handler(received, n)``
    where ``n`` counts requests from 1. Every request is kept in ``received``."""

    def __init__(self, handler: _Callable[[Received, int], Reply]) -> None:
        self.received: list[Received] = []
        self._lock = _threading.Lock()
        server = self

        class Handler(_BaseHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: _Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                got = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                with server._lock:
                    server.received.append(got)
                    number = len(server.received)
                reply = handler(got, number)
                if reply.delay:
                    _time.sleep(reply.delay)
                body = reply.body
                if isinstance(body, (dict, list)) and not (isinstance(body, list) and body and isinstance(body[0], bytes)):
                    body = _json.dumps(body).encode()
                    reply.headers.setdefault("content-type", "application/json")
                elif isinstance(body, str):
                    body = body.encode()
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if isinstance(body, list):
                        self.send_header("transfer-encoding", "chunked")
                        self.end_headers()
                        for piece in body:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                            self.wfile.flush()
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.send_header("content-length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                    pass

            do_POST = do_GET = _serve

        self._server = _ThreadingServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = _threading.Thread(target=self._server.serve_forever, args=(0.02,), name="loopback", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def loopback() -> Iterator[_Callable[[_Callable[[Received, int], Reply]], LoopbackServer]]:
    """``server = loopback(lambda received, n: Reply(...))`` starts a server on 127.0.0.1."""
    servers: list[LoopbackServer] = []

    def start(handler: _Callable[[Received, int], Reply]) -> LoopbackServer:
        servers.append(LoopbackServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def sse_events(text: str) -> list[object]:
    """The ``data:`` events of an SSE body: parsed JSON objects, and ``"[DONE]"`` as a string."""
    import json

    events: list[object] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if not data:
            continue
        payload = "\n".join(data)
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


# --- in-process gateway (tests/test_routing*.py, test_fallback*.py) ------------------------------


@contextlib.asynccontextmanager
async def asgi_gateway(config: object, prefix: bool | None = None):  # noqa: ANN201 - yields (httpx.AsyncClient, app)
    """``async with asgi_gateway(config_dict) as (client, app):`` the app served in-process
    (httpx's ASGI transport, no socket to the gateway; its upstreams are real loopback servers).
    The pooled upstream client of this event loop is closed on the way out."""
    import httpx

    from llmrouter.utils import openai_compat
    from openclaw_litellm.app import create_app
    from llmrouter.config import OpenClawConfig

    if isinstance(config, dict):
        config = OpenClawConfig.from_dict(config)
    app = create_app(config, prefix=prefix)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30) as client:
            yield client, app
    finally:
        await openai_compat.aclose_clients()


@pytest.fixture(scope="module")
def up():  # noqa: ANN201
    """A fault-injecting OpenAI-compatible upstream (tests/test_faults_upstream.py), per module."""
    from test_faults_upstream import FaultUpstream

    with FaultUpstream() as stub:
        yield stub


@pytest.fixture(scope="module")
def bad_token_stream_cassette(tmp_path_factory):  # noqa: ANN001, ANN201
    """The recorded 403 (bad token) addressed to ConverseStream: AWS rejects both the same way."""
    import yaml

    data = yaml.safe_load((REFERENCE / "openllmetry/bedrock-historical-d4c2ca62/test_titan_converse_with_caching.yaml").read_text())
    for interaction in data["interactions"]:
        interaction["request"]["uri"] = interaction["request"]["uri"].replace("/converse", "/converse-stream")
    path = tmp_path_factory.mktemp("cassettes") / "bad_token_stream.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
