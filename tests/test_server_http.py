"""The gateway over HTTP, read back with the official ``openai`` client (sync and async).

Upstreams are the reference cassettes (AWS Bedrock Converse / ConverseStream, NVIDIA NIM),
replayed with loopback traffic passing through to the in-process gateway. One gateway serves
a mixed config (Bedrock and NVIDIA) for the whole module.
"""

from __future__ import annotations

import httpx
import pytest

from conftest import replay_upstream, sse_events

BEDROCK = "opentelemetry-python-contrib/botocore/test_converse_with_content.yaml"
BEDROCK_STREAM = "opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml"
NOVA_STREAM = "openllmetry/bedrock/test_nova_converse_stream.yaml"
NVIDIA = "weave/langchain_nvidia_ai_endpoints/test_chatnvidia_quickstart.yaml"
NVIDIA_STREAM = "weave/langchain_nvidia_ai_endpoints/test_chatnvidia_stream_quickstart.yaml"

BEDROCK_TEXT = "Hi, how can I help you"
BEDROCK_STREAM_TEXT = "I am here and ready to assist"
NVIDIA_TEXT = "Hello! It's nice to meet you. Is there something I can help you with or would you like to chat?"
BEDROCK_USAGE = (8, 10, 18)
NVIDIA_USAGE = (12, 24, 36)

MIXED = {
    # These tests check `requested` (usage only when asked); `always`, the default, is
    # tested in tests/test_usage_chunk.py.
    "serve": {"usage_chunk": "requested"},
    "llms": {
        "titan": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1"},
        "llama": {"provider": "nvidia", "model": "meta/llama-3.1-8b-instruct", "api_key": "nvapi" + "-test-only-0000000000000000"},
        "nova": {"provider": "bedrock", "model": "amazon.nova-lite-v1:0", "aws_region": "us-east-1"},
    }
}
HELLO = [{"role": "user", "content": "Say this is a test"}]


@pytest.fixture(scope="module")
def gw(gateway_factory):
    return gateway_factory(MIXED, prefix=False)


def usage_of(obj) -> tuple[int, int, int]:
    return (obj.usage.prompt_tokens, obj.usage.completion_tokens, obj.usage.total_tokens)


def check_stream(chunks, name: str, text: str, finish: str, usage: tuple[int, int, int] | None) -> None:
    """The OpenAI stream contract, on the chunks the openai client parsed."""
    assert chunks, "no chunk"
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {name}
    assert len({c.id for c in chunks}) == 1, "one id for the whole stream"
    content = [c for c in chunks if c.choices]
    assert content[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in content) == text
    finishes = [c.choices[0].finish_reason for c in content if c.choices[0].finish_reason]
    assert finishes == [finish]
    assert all(c.usage is None for c in content), "usage rides only on the final usage chunk"
    if usage is None:
        assert len(content) == len(chunks), "no usage chunk without stream_options.include_usage"
    else:
        assert chunks[-1].choices == [] and usage_of(chunks[-1]) == usage
        assert len(content) == len(chunks) - 1


# --- /v1/models ------------------------------------------------------------------------------


def test_models_list_is_openai_shaped(gw):
    models = gw.client().models.list()
    by_id = {m.id: m for m in models.data}
    assert list(by_id) == ["auto", "titan", "llama", "nova"]
    assert by_id["titan"].owned_by == "aws-bedrock" and by_id["llama"].owned_by == "nvidia"
    assert all(isinstance(m.created, int) and m.created > 1_600_000_000 and m.object == "model" for m in models.data)
    raw = httpx.get(f"{gw.url}/v1/models").json()
    assert raw["object"] == "list"


# --- AWS Bedrock -----------------------------------------------------------------------------


def test_bedrock_sync_non_stream(gw):
    with replay_upstream(BEDROCK) as cassette:
        raw = gw.client().chat.completions.with_raw_response.create(model="titan", messages=HELLO, max_tokens=10)
    answer = raw.parse()
    assert cassette.play_count == 1
    assert raw.headers["x-openclaw-model"] == "titan"
    assert answer.object == "chat.completion" and answer.model == "titan"
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == BEDROCK_TEXT
    assert answer.choices[0].finish_reason == "length"  # Bedrock stopReason max_tokens
    assert usage_of(answer) == BEDROCK_USAGE


async def test_bedrock_async_non_stream(gw):
    with replay_upstream(BEDROCK):
        answer = await gw.aclient().chat.completions.create(model="titan", messages=HELLO)
    assert answer.model == "titan"
    assert answer.choices[0].message.content == BEDROCK_TEXT
    assert usage_of(answer) == BEDROCK_USAGE


def test_bedrock_sync_stream(gw):
    with replay_upstream(BEDROCK_STREAM) as cassette:
        stream = gw.client().chat.completions.create(
            model="titan", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
    assert cassette.play_count == 1
    check_stream(chunks, "titan", BEDROCK_STREAM_TEXT, "length", BEDROCK_USAGE)


async def test_bedrock_async_stream(gw):
    with replay_upstream(BEDROCK_STREAM):
        stream = await gw.aclient().chat.completions.create(model="titan", messages=HELLO, stream=True)
        chunks = [c async for c in stream]
    check_stream(chunks, "titan", BEDROCK_STREAM_TEXT, "length", None)


def test_bedrock_guardrail_stream_finishes_with_content_filter(gw):
    with replay_upstream(NOVA_STREAM):
        chunks = list(gw.client().chat.completions.create(model="nova", messages=HELLO, stream=True))
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["content_filter"]
    assert {c.model for c in chunks} == {"nova"}


# --- NVIDIA NIM (direct HTTP) ----------------------------------------------------------------


def test_nvidia_sync_non_stream(gw):
    with replay_upstream(NVIDIA) as cassette:
        raw = gw.client().chat.completions.with_raw_response.create(model="llama", messages=[{"role": "user", "content": "Hello!"}])
    answer = raw.parse()
    assert cassette.play_count == 1
    assert cassette.requests[0].uri == "https://integrate.api.nvidia.com/v1/chat/completions"
    assert raw.headers["x-openclaw-model"] == "llama"
    assert answer.model == "llama"
    assert answer.choices[0].message.content == NVIDIA_TEXT
    assert answer.choices[0].finish_reason == "stop"
    assert usage_of(answer) == NVIDIA_USAGE


async def test_nvidia_async_non_stream(gw):
    with replay_upstream(NVIDIA):
        answer = await gw.aclient().chat.completions.create(model="llama", messages=[{"role": "user", "content": "Hello!"}])
    assert answer.choices[0].message.content == NVIDIA_TEXT
    assert usage_of(answer) == NVIDIA_USAGE


def test_nvidia_sync_stream(gw):
    with replay_upstream(NVIDIA_STREAM):
        chunks = list(
            gw.client().chat.completions.create(
                model="llama", messages=[{"role": "user", "content": "Hello!"}], stream=True, stream_options={"include_usage": True}
            )
        )
    check_stream(chunks, "llama", NVIDIA_TEXT, "stop", NVIDIA_USAGE)
    assert chunks[0].id == "chat-9e7cc075cb10407fb1a0f92b0c6476a0"


async def test_nvidia_async_stream(gw):
    with replay_upstream(NVIDIA_STREAM):
        stream = await gw.aclient().chat.completions.create(model="llama", messages=[{"role": "user", "content": "Hello!"}], stream=True)
        chunks = [c async for c in stream]
    check_stream(chunks, "llama", NVIDIA_TEXT, "stop", None)


# --- one process, both families --------------------------------------------------------------


def test_mixed_config_serves_bedrock_and_nvidia_in_one_process(gw):
    client = gw.client()
    with replay_upstream(NVIDIA):
        nvidia = client.chat.completions.create(model="llama", messages=[{"role": "user", "content": "Hello!"}])
    with replay_upstream(BEDROCK):
        auto = client.chat.completions.with_raw_response.create(model="auto", messages=HELLO)
    with replay_upstream(NVIDIA_STREAM):
        nvidia_stream = list(client.chat.completions.create(model="llama", messages=HELLO, stream=True))
    with replay_upstream(BEDROCK_STREAM):
        bedrock_stream = list(client.chat.completions.create(model="titan", messages=HELLO, stream=True))
    assert nvidia.model == "llama" and nvidia.choices[0].message.content == NVIDIA_TEXT
    # `auto` picks the first configured model (titan, on Bedrock) and says so.
    assert auto.headers["x-openclaw-model"] == "titan"
    assert auto.parse().model == "titan" and auto.parse().choices[0].message.content == BEDROCK_TEXT
    assert "".join(c.choices[0].delta.content or "" for c in nvidia_stream if c.choices) == NVIDIA_TEXT
    assert "".join(c.choices[0].delta.content or "" for c in bedrock_stream if c.choices) == BEDROCK_STREAM_TEXT


# --- usage -----------------------------------------------------------------------------------


def raw_stream(gw, model: str, include_usage: bool | None) -> tuple[httpx.Response, list[object]]:
    body: dict = {"model": model, "messages": HELLO, "stream": True}
    if include_usage is not None:
        body["stream_options"] = {"include_usage": include_usage}
    response = httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=30)
    return response, sse_events(response.text)


@pytest.mark.parametrize(
    ("model", "cassette_path", "usage"),
    [("titan", BEDROCK_STREAM, BEDROCK_USAGE), ("llama", NVIDIA_STREAM, NVIDIA_USAGE)],
)
@pytest.mark.parametrize("include_usage", [True, False, None])
def test_stream_usage_chunk_only_when_asked(gw, model, cassette_path, usage, include_usage):
    with replay_upstream(cassette_path):
        response, events = raw_stream(gw, model, include_usage)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-openclaw-model"] == model
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1
    chunks = events[:-1]
    with_usage = [c for c in chunks if "usage" in c]
    # Content chunks never carry usage, even though NVIDIA puts it on every one of its chunks.
    assert all("usage" not in c for c in chunks if c["choices"])
    if include_usage:
        assert with_usage == [chunks[-1]]
        assert chunks[-1]["choices"] == []
        u = chunks[-1]["usage"]
        assert (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]) == usage
    else:
        assert with_usage == []
        assert all(c["choices"] for c in chunks)


@pytest.mark.parametrize(("model", "cassette_path", "usage"), [("titan", BEDROCK, BEDROCK_USAGE), ("llama", NVIDIA, NVIDIA_USAGE)])
def test_non_stream_always_has_usage(gw, model, cassette_path, usage):
    with replay_upstream(cassette_path):
        body = httpx.post(f"{gw.base_url}/chat/completions", json={"model": model, "messages": HELLO}, timeout=30).json()
    assert body["object"] == "chat.completion"
    assert body["usage"] == {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": usage[2]}


def test_health_and_readiness(gw):
    assert httpx.get(f"{gw.url}/health").json() == {"status": "ok"}
    with replay_upstream(BEDROCK):  # a Bedrock call waits for LiteLLM, so it is loaded after it
        gw.client().chat.completions.create(model="titan", messages=HELLO)
    ready = httpx.get(f"{gw.url}/health/ready")
    assert ready.status_code == 200
    assert ready.json()["litellm_loaded"] is True and ready.json()["models"] == 3


def test_no_endpoint_has_parameters_for_fastapi_to_validate():
    """The app has no RequestValidationError handler (it would be dead code): every body is read
    and validated by openclaw_litellm.schemas, in the catalog's words. A route with FastAPI
    parameters would answer FastAPI's own 422 shape; this test says to add the handler back."""
    from fastapi.routing import APIRoute, APIWebSocketRoute

    from openclaw_litellm.app import create_app
    from llmrouter.config import OpenClawConfig

    app = create_app(OpenClawConfig.from_dict({"llms": {"m": {"provider": "vllm", "model": "m", "base_url": "http://127.0.0.1:9/v1"}}}))
    routes = [r for r in app.routes if isinstance(r, APIRoute | APIWebSocketRoute)]
    assert {r.path for r in routes} >= {"/v1/chat/completions", "/v1/responses", "/v1/chat/ws", "/v1/models", "/health"}
    for route in routes:
        d = route.dependant
        assert not (d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params or d.dependencies), route.path
