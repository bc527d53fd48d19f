"""``/v1/chat/ws``: several requests per connection, malformed frames, prefix, usage, fallbacks.

Upstreams are the recorded NVIDIA NIM and Bedrock ConverseStream answers (cassettes), or
loopback servers. One test drives a real uvicorn server with the `websockets` library.
"""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from conftest import replay, replay_upstream
from loopback import StubReply, openai_sse_parts
from openclaw_litellm.app import create_app
from llmrouter.config import OpenClawConfig

NVIDIA_STREAM = "weave/langchain_nvidia_ai_endpoints/test_chatnvidia_stream_quickstart.yaml"
BEDROCK_STREAM = "opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml"
NVIDIA_TEXT = "Hello! It's nice to meet you. Is there something I can help you with or would you like to chat?"
BEDROCK_TEXT = "I am here and ready to assist"
DONE = "data: [DONE]\n\n"

RECORDED = {
    "nvidia": {"provider": "nvidia", "model": "meta/llama-3.1-8b-instruct", "base_url": "https://integrate.api.nvidia.com/v1", "api_key": "nvapi-test-not-real"},
    "titan": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1"},
}


def frame(model: str, text: str = "Hello!", **extra: object) -> str:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}], **extra}, ensure_ascii=False)


def events_until_done(receive) -> list[dict]:  # noqa: ANN001
    """The frames of one answer, parsed, up to its ``[DONE]`` (which is checked, not returned)."""
    events = []
    while True:
        text = receive()
        assert text.startswith("data: ") and text.endswith("\n\n"), text
        if text == DONE:
            return events
        events.append(json.loads(text[6:]))


def text_of(events: list[dict]) -> str:
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices"))


def usage_of(events: list[dict]) -> dict | None:
    return events[-1].get("usage") if events and events[-1].get("choices") == [] else None


@pytest.fixture(scope="module")
def recorded_client():
    app = create_app(OpenClawConfig.from_dict({"llms": RECORDED}), prefix=True)
    with TestClient(app) as client:
        yield client


def test_several_requests_on_one_connection_nvidia_and_bedrock_from_cassettes(recorded_client):
    with recorded_client.websocket_connect("/v1/chat/ws") as ws:
        with replay(NVIDIA_STREAM):
            ws.send_text(frame("nvidia", stream_options={"include_usage": True}))
            nvidia = events_until_done(ws.receive_text)
        with replay(BEDROCK_STREAM):
            ws.send_text(frame("titan", "Say this is a test", max_tokens=10, stream_options={"include_usage": True}))
            titan = events_until_done(ws.receive_text)
        with replay(NVIDIA_STREAM):
            ws.send_text(frame("auto"))  # `first`: the first model, nvidia
            again = events_until_done(ws.receive_text)

    assert text_of(nvidia) == f"[nvidia] {NVIDIA_TEXT}"
    assert {e["model"] for e in nvidia} == {"nvidia"} and {e["object"] for e in nvidia} == {"chat.completion.chunk"}
    assert usage_of(nvidia) == {"prompt_tokens": 12, "completion_tokens": 24, "total_tokens": 36}
    assert all("usage" not in e for e in nvidia[:-1])

    assert text_of(titan) == f"[titan] {BEDROCK_TEXT}"
    assert titan[0]["choices"][0]["delta"]["role"] == "assistant"
    assert titan[-2]["choices"][0]["finish_reason"] == "length"
    assert usage_of(titan) == {"prompt_tokens": 8, "completion_tokens": 10, "total_tokens": 18, "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}}

    # serve.usage_chunk: always (the default) sends usage unasked, as SSE does.
    assert text_of(again) == f"[nvidia] {NVIDIA_TEXT}" and usage_of(again)["total_tokens"] == 36


MALFORMED = [
    # What a user typing plain text sees: it is the frame that is not JSON, and what to send.
    ("not json", "The frame (send one JSON object shaped like a POST /v1/chat/completions body) is not valid JSON (line 1, column 1"),
    ('["a", "list"]', "The frame (send one JSON object"),
    ('["a", "list"]', "must be a JSON object"),
    ('{"model": "nvidia", "messages": "hi"}', "`messages`"),
    ('{"model": "nvidia", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}', "`stream`"),
    ('{"model": "nvidia", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', "`temperature`"),
    ('{"messages": [{"role": "user", "content": "hi"}]}', "`model` is required"),
    ('{"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}', "The model 'gpt-9' does not exist"),
]


def test_malformed_frames_get_an_error_frame_and_the_connection_survives(recorded_client):
    with recorded_client.websocket_connect("/v1/chat/ws") as ws:
        for bad, expected in MALFORMED:
            ws.send_text(bad)
            [error] = events_until_done(ws.receive_text)
            assert expected in error["error"]["message"], (bad, error)
            assert error["error"]["type"] == "invalid_request_error"
        ws.send_bytes(b"\xff\xfe not utf-8")
        [error] = events_until_done(ws.receive_text)
        assert error["error"]["message"] == "Frames must be UTF-8 JSON text"
        with replay(NVIDIA_STREAM):
            ws.send_bytes(frame("nvidia").encode())  # a binary frame with UTF-8 JSON is fine
            assert text_of(events_until_done(ws.receive_text)) == f"[nvidia] {NVIDIA_TEXT}"


def test_an_oversize_frame_is_refused_and_the_connection_survives(upstream):
    up = upstream(lambda request: StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["fine"])))
    config = {"serve": {"max_body_bytes": 1000}, "llms": {"m": {"provider": "vllm", "model": "m", "base_url": f"{up.url}/v1"}}}
    with TestClient(create_app(OpenClawConfig.from_dict(config))) as client, client.websocket_connect("/v1/chat/ws") as ws:
        ws.send_text(frame("m", "x" * 2000))
        [error] = events_until_done(ws.receive_text)
        assert "larger than 1000 bytes" in error["error"]["message"]
        ws.send_text(frame("m"))
        assert text_of(events_until_done(ws.receive_text)) == "fine"
    assert len(up.requests) == 1


# --- size limits on a real server: uvicorn's own limit, then the gateway's error frame ----------

LIMIT = 1000


def test_llmrouter_serve_gives_uvicorn_the_websocket_size_limit(tmp_path, monkeypatch):
    import argparse

    from openclaw_litellm import server, serving
    from openclaw_litellm.websocket import FRAME_SLACK

    path = tmp_path / "gw.yaml"
    path.write_text(f"serve:\n  max_body_bytes: {LIMIT}\nllms:\n  m: {{provider: vllm, model: m, base_url: 'http://127.0.0.1:9/v1'}}\n")
    ran: dict = {}
    monkeypatch.setattr(serving.GatewayServer, "run", lambda self, sockets=None: ran.update(ws_max_size=self.config.ws_max_size))
    monkeypatch.setattr(server, "_exit_cleanly_on_sigterm", lambda: None)
    args = argparse.Namespace(config=str(path), host=None, port=None, prefix=None, log_level="warning")
    assert server.run_from_cli(args) == 0
    assert ran["ws_max_size"] == LIMIT + FRAME_SLACK


@pytest.fixture
def limited_ws(upstream):
    """A real uvicorn server with serve.max_body_bytes = 1000 and the ws_max_size `llmrouter serve` sets."""
    from real_server import serving

    from openclaw_litellm.websocket import max_message_bytes

    up = upstream(lambda request: StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["fine"])))
    config = {"serve": {"max_body_bytes": LIMIT}, "llms": {"m": {"provider": "vllm", "model": "m", "base_url": f"{up.url}/v1"}}}
    with serving(create_app(OpenClawConfig.from_dict(config)), ws_max_size=max_message_bytes(LIMIT)) as url:
        yield url.replace("http://", "ws://") + "/v1/chat/ws"


def test_a_message_far_beyond_the_limit_is_refused_by_the_server(limited_ws):
    from websockets.exceptions import ConnectionClosedError
    from websockets.sync.client import connect

    from openclaw_litellm.websocket import max_message_bytes

    with connect(limited_ws, max_size=None) as ws:
        ws.send(frame("m", "x" * max_message_bytes(LIMIT)))
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big


def test_the_limit_counts_bytes_not_characters(limited_ws):
    from websockets.sync.client import connect

    with connect(limited_ws) as ws:
        accented = frame("m", "\u00e9" * 600)  # ~650 characters, ~1250 UTF-8 bytes
        assert len(accented) < LIMIT < len(accented.encode())
        ws.send(accented)
        [error] = events_until_done(ws.recv)
        assert f"larger than {LIMIT} bytes" in error["error"]["message"]
        ws.send(b"x" * (LIMIT + 1))  # a binary frame, too
        [error] = events_until_done(ws.recv)
        assert f"larger than {LIMIT} bytes" in error["error"]["message"]
        ws.send(frame("m", "x" * 2 * LIMIT))  # over the limit, within uvicorn's: an error frame
        [error] = events_until_done(ws.recv)
        assert error["error"]["code"] == "invalid_request"
        ws.send(frame("m"))  # and the connection is still good
        assert text_of(events_until_done(ws.recv)) == "fine"


class Loopback:
    """Models by what they do: ``fine`` streams, ``down`` is 503, ``dies`` drops mid-answer."""

    def __init__(self, upstream_factory) -> None:  # noqa: ANN001
        self.up = upstream_factory(self.route)

    def route(self, request) -> StubReply:  # noqa: ANN001
        model = request.json()["model"]
        if model == "down":
            return StubReply(status=503, headers={"content-type": "application/json"}, body=b'{"error": {"message": "overloaded"}}')
        if model == "dies":
            return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["Hel", "lo"])[:3], abort=True)
        if model == "slow":
            return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts([f"w{i} " for i in range(20)]), interval=0.05)
        return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["fine", " answer"], usage=(4, 2)))

    def config(self, **router: object) -> dict:
        base = f"{self.up.url}/v1"
        return {
            "router": {"fallback_models": ["fine"], **router},
            "llms": {m: {"provider": "vllm", "model": m, "base_url": base} for m in ("down", "dies", "slow", "fine")},
        }


@pytest.fixture
def loop_up(upstream):
    return Loopback(upstream)


def test_fallback_and_mid_stream_failure_over_websocket(loop_up):
    with TestClient(create_app(OpenClawConfig.from_dict(loop_up.config()), prefix=True)) as client, client.websocket_connect("/v1/chat/ws") as ws:
        ws.send_text(frame("down"))
        served = events_until_done(ws.receive_text)
        assert text_of(served) == "[fine] fine answer" and {e["model"] for e in served} == {"fine"}

        ws.send_text(frame("dies"))
        died = events_until_done(ws.receive_text)
        assert text_of(died) == "[dies] Hello"
        assert died[-1]["error"]["code"] == "upstream_interrupted" and died[-1]["error"]["type"] == "api_error"

        ws.send_text(frame("fine", stream_options={"include_usage": True}))
        after = events_until_done(ws.receive_text)
        assert text_of(after) == "[fine] fine answer"
        assert usage_of(after) == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}


def test_every_request_field_reaches_the_upstream_and_the_prefix_is_off_by_default(loop_up):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {}}}}]
    with TestClient(create_app(OpenClawConfig.from_dict(loop_up.config()))) as client, client.websocket_connect("/v1/chat/ws") as ws:
        ws.send_text(frame("fine", tools=tools, tool_choice="auto", temperature=0.2, max_tokens=7, stop=["END"], stream=False))
        assert text_of(events_until_done(ws.receive_text)) == "fine answer"  # always streamed, no prefix
    sent = loop_up.up.requests[-1].json()
    assert sent["tools"] == tools and sent["tool_choice"] == "auto"
    assert (sent["temperature"], sent["max_tokens"], sent["stop"], sent["stream"]) == (0.2, 7, ["END"], True)


def test_a_websockets_library_client_against_a_real_server(gateway_factory, loop_up, caplog):
    from websockets.sync.client import connect

    config = loop_up.config()
    config["llms"]["nvidia"] = RECORDED["nvidia"]
    gw = gateway_factory(config, prefix=True)
    url = f"ws://127.0.0.1:{gw.port}/v1/chat/ws"
    with connect(url) as ws:
        with replay_upstream(NVIDIA_STREAM):  # loopback traffic (this client, the stubs) goes through
            ws.send(frame("nvidia", stream_options={"include_usage": True}))
            nvidia = events_until_done(ws.recv)
        ws.send("{oops")
        [error] = events_until_done(ws.recv)
        ws.send(frame("down"))
        fallback = events_until_done(ws.recv)
    assert text_of(nvidia) == f"[nvidia] {NVIDIA_TEXT}" and usage_of(nvidia)["total_tokens"] == 36
    assert error["error"]["code"] == "invalid_request"
    assert text_of(fallback) == "[fine] fine answer"

    # A client that leaves mid-answer costs nothing but its own stream.
    with caplog.at_level(logging.WARNING), connect(url) as ws:
        ws.send(frame("slow"))
        assert json.loads(ws.recv()[6:])["choices"][0]["delta"]["role"] == "assistant"
    with connect(url) as ws:
        ws.send(frame("fine"))
        assert text_of(events_until_done(ws.recv)) == "[fine] fine answer"
    assert "Traceback" not in caplog.text and "failed unexpectedly" not in caplog.text


def test_websocket_and_sse_send_the_same_chunks(loop_up):
    """One serializer for both transports: a WS frame is exactly an SSE event."""
    with TestClient(create_app(OpenClawConfig.from_dict(loop_up.config()), prefix=True)) as client:
        with client.websocket_connect("/v1/chat/ws") as ws:
            ws.send_text(frame("fine"))
            frames = []
            while not frames or frames[-1] != DONE:
                frames.append(ws.receive_text())
        sse = client.post("/v1/chat/completions", content=frame("fine", stream=True)).text
    assert "".join(frames) == sse



def test_frames_sent_during_an_answer_are_answered_in_order(loop_up):
    with TestClient(create_app(OpenClawConfig.from_dict(loop_up.config()), prefix=True)) as client, client.websocket_connect("/v1/chat/ws") as ws:
        ws.send_text(frame("slow"))  # 20 chunks 0.05 s apart
        ws.send_text("not json")
        ws.send_text(frame("fine"))
        slow = events_until_done(ws.receive_text)
        [error] = events_until_done(ws.receive_text)
        fine = events_until_done(ws.receive_text)
    assert text_of(slow).startswith("[slow] w0 w1") and error["error"]["code"] == "invalid_request"
    assert text_of(fine) == "[fine] fine answer"


def test_usage_chunk_only_when_asked_with_serve_usage_chunk_requested(loop_up):
    config = {**loop_up.config(), "serve": {"usage_chunk": "requested"}}
    with TestClient(create_app(OpenClawConfig.from_dict(config))) as client, client.websocket_connect("/v1/chat/ws") as ws:
        ws.send_text(frame("fine"))
        assert usage_of(events_until_done(ws.receive_text)) is None
        ws.send_text(frame("fine", stream_options={"include_usage": True}))
        assert usage_of(events_until_done(ws.receive_text)) == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
