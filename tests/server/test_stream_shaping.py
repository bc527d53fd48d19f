"""The answer's shaping on its way out: the ``[name] `` prefix, usage, ids, tool-call deltas.

Unit tests drive :class:`StreamShaper` with synthetic chunk sequences; the server tests run
the gateway with ``create_app(config, prefix=True/False)`` over replayed Bedrock and NVIDIA
streams (and a Bedrock tool-call stream) and compare the two.
"""

from __future__ import annotations

import copy

import httpx
import pytest

from conftest import replay_upstream, sse_events
from openclaw_litellm.stream_pipeline import StreamShaper, shape_completion

BEDROCK = "opentelemetry-python-contrib/botocore/test_converse_with_content.yaml"
BEDROCK_STREAM = "opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml"
BEDROCK_TOOL_STREAM = "tools/opentelemetry-python-contrib/botocore-cassettes/test_converse_stream_with_content_tool_call.yaml"
NVIDIA_STREAM = "weave/langchain_nvidia_ai_endpoints/test_chatnvidia_stream_quickstart.yaml"

# --- unit: StreamShaper ----------------------------------------------------------------------


def chunk(delta: dict | None = None, finish: str | None = None, usage: dict | None = None, choices: bool = True) -> dict:
    out: dict = {"id": "chatcmpl-upstream", "object": "chat.completion.chunk", "created": 1700000000, "model": "provider/model-id"}
    out["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if choices else []
    if usage is not None:
        out["usage"] = usage
    return out


USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
TOOL_CALL_DELTAS = [
    [{"index": 0, "id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": ""}}],
    [{"index": 0, "function": {"arguments": '{"city": '}}],
    [{"index": 0, "function": {"arguments": '"[Paris]"}'}}],
    [{"index": 1, "id": "call_def", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}],
]


def synthetic_stream() -> list[dict]:
    """Role, text, two tool calls in pieces, more text, finish, then a usage-only chunk."""
    return [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Let me "}),
        chunk({"content": "check."}),
        *[chunk({"tool_calls": calls}) for calls in TOOL_CALL_DELTAS],
        chunk({"content": " Done"}),
        chunk({}, finish="tool_calls"),
        chunk(usage=USAGE, choices=False),
    ]


async def run_shaper(chunks: list[dict], name: str = "m", prefix: bool = False, include_usage: bool = False) -> list[dict]:
    async def source():
        for c in chunks:
            yield c

    shaper = StreamShaper(name, prefix, include_usage)
    return [c async for c in shaper.run(source())]


def contents(chunks: list[dict]) -> list[str]:
    return [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]


def tool_deltas(chunks: list[dict]) -> list[list[dict]]:
    return [c["choices"][0]["delta"]["tool_calls"] for c in chunks if c["choices"] and "tool_calls" in c["choices"][0]["delta"]]


@pytest.mark.parametrize("prefix", [True, False])
async def test_shaper_leaves_tool_call_deltas_untouched(prefix):
    out = await run_shaper(synthetic_stream(), name="claude", prefix=prefix)
    assert tool_deltas(out) == TOOL_CALL_DELTAS  # same pieces, same order, same bytes
    assert [c["choices"][0]["finish_reason"] for c in out if c["choices"]][-1] == "tool_calls"


async def test_shaper_prefix_goes_on_the_first_content_only():
    on = await run_shaper(synthetic_stream(), name="claude", prefix=True)
    off = await run_shaper(synthetic_stream(), name="claude", prefix=False)
    assert contents(on)[:3] == ["", "[claude] Let me ", "check."]
    assert "".join(c or "" for c in contents(on)) == "[claude] " + "".join(c or "" for c in contents(off))
    assert sum("[claude]" in (c or "") for c in contents(on)) == 1
    assert not any("[claude]" in (c or "") for c in contents(off))
    assert len(on) == len(off)


async def test_shaper_prefix_waits_for_content_after_leading_tool_calls():
    chunks = [chunk({"role": "assistant", "tool_calls": TOOL_CALL_DELTAS[0]}), chunk({"tool_calls": TOOL_CALL_DELTAS[1]}), chunk({"content": "then text"})]
    out = await run_shaper(chunks, name="n", prefix=True)
    assert tool_deltas(out) == TOOL_CALL_DELTAS[:2]
    assert [c["choices"][0]["delta"].get("content") for c in out] == [None, None, "[n] then text"]


async def test_shaper_nothing_dropped_or_reordered():
    source = synthetic_stream()
    out = await run_shaper(copy.deepcopy(source), name="m", prefix=False, include_usage=True)
    # Every chunk with choices comes out, in order, with the same deltas (role kept once).
    assert [c["choices"] for c in out[:-1]] == [c["choices"] for c in source if c["choices"]]


async def test_shaper_usage_only_when_asked_and_never_on_content_chunks():
    nvidia_like = [chunk({"content": "a"}, usage={"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}),
                   chunk({"content": "b"}, usage={"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}),
                   chunk({}, finish="stop", usage={"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4})]
    asked = await run_shaper(copy.deepcopy(nvidia_like), include_usage=True)
    assert all("usage" not in c for c in asked[:-1])
    assert asked[-1]["choices"] == [] and asked[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
    not_asked = await run_shaper(copy.deepcopy(nvidia_like), include_usage=False)
    assert len(not_asked) == 3 and all("usage" not in c and c["choices"] for c in not_asked)


async def test_shaper_usage_from_a_usage_only_chunk_and_bedrock_names():
    out = await run_shaper(synthetic_stream(), include_usage=True)
    assert out[-1]["usage"] == USAGE
    bedrock_names = [chunk({"content": "x"}), chunk(usage={"inputTokens": 8, "outputTokens": 10, "totalTokens": 18}, choices=False)]
    out = await run_shaper(bedrock_names, include_usage=True)
    assert out[-1]["usage"] == {"prompt_tokens": 8, "completion_tokens": 10, "total_tokens": 18, "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}}


async def test_shaper_names_the_model_and_keeps_one_id_and_one_role():
    out = await run_shaper(synthetic_stream(), name="fast", include_usage=True)
    assert {c["model"] for c in out} == {"fast"}
    assert {c["id"] for c in out} == {"chatcmpl-upstream"}
    assert {c["object"] for c in out} == {"chat.completion.chunk"}
    roles = [c["choices"][0]["delta"].get("role") for c in out if c["choices"]]
    assert roles[0] == "assistant" and not any(roles[1:])


async def test_shaper_gives_a_role_when_the_provider_sent_none():
    out = await run_shaper([chunk({"content": "hi"}), chunk({}, finish="stop")], name="m")
    assert out[0]["choices"][0]["delta"] == {"role": "assistant", "content": "hi"}
    assert "role" not in out[1]["choices"][0]["delta"]


def test_shape_completion_prefix_on_and_off():
    def completion() -> dict:
        return {"model": "id", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}]}

    assert shape_completion(completion(), "n", True)["choices"][0]["message"]["content"] == "[n] Hello"
    off = shape_completion(completion(), "n", False)
    assert off["choices"][0]["message"]["content"] == "Hello" and off["model"] == "n"
    tool_only = {"model": "id", "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}}]}
    assert shape_completion(tool_only, "n", True)["choices"][0]["message"] == {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}


# --- the server, prefix on and off -----------------------------------------------------------

CONFIG = {
    "serve": {"show_model_prefix": True},  # create_app(prefix=...) overrides it both ways
    "llms": {
        "titan": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1"},
        "micro": {"provider": "bedrock", "model": "amazon.nova-micro-v1:0", "aws_region": "us-east-1"},
        "llama": {"provider": "nvidia", "model": "meta/llama-3.1-8b-instruct", "api_key": "nvapi" + "-test-only-0000000000000000"},
    },
}
HELLO = [{"role": "user", "content": "Say this is a test"}]


@pytest.fixture(scope="module")
def gateways(gateway_factory):
    return {True: gateway_factory(CONFIG, prefix=True), False: gateway_factory(CONFIG, prefix=False)}


def stream_events(gw, model: str, cassette_path: str, **extra: object) -> list[dict]:
    with replay_upstream(cassette_path):
        response = httpx.post(f"{gw.base_url}/chat/completions", json={"model": model, "messages": HELLO, "stream": True, **extra}, timeout=30)
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    return events[:-1]


def first_content(chunks: list[dict]) -> str:
    return next(c for c in contents(chunks) if c)


@pytest.mark.parametrize(("model", "cassette_path", "text"), [
    ("titan", BEDROCK_STREAM, "I am here and ready to assist"),
    ("llama", NVIDIA_STREAM, "Hello! It's nice to meet you. Is there something I can help you with or would you like to chat?"),
])
def test_prefix_on_and_off_with_streaming(gateways, model, cassette_path, text):
    on = stream_events(gateways[True], model, cassette_path)
    off = stream_events(gateways[False], model, cassette_path)
    assert first_content(on).startswith(f"[{model}] ")
    assert not first_content(off).startswith("[")
    assert "".join(c or "" for c in contents(off)) == text
    assert "".join(c or "" for c in contents(on)) == f"[{model}] {text}"
    assert [c["choices"][0]["finish_reason"] for c in on if c["choices"]] == [c["choices"][0]["finish_reason"] for c in off if c["choices"]]


def test_prefix_on_and_off_with_the_openai_client(gateways):
    texts = {}
    for prefix, gw in gateways.items():
        with replay_upstream(BEDROCK_STREAM):
            chunks = list(gw.client().chat.completions.create(model="titan", messages=HELLO, stream=True))
        texts[prefix] = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert texts == {True: "[titan] I am here and ready to assist", False: "I am here and ready to assist"}


def test_prefix_on_and_off_non_stream(gateways):
    for prefix, expected in [(True, "[titan] Hi, how can I help you"), (False, "Hi, how can I help you")]:
        with replay_upstream(BEDROCK):
            answer = gateways[prefix].client().chat.completions.create(model="titan", messages=HELLO)
        assert answer.choices[0].message.content == expected


def test_prefix_leaves_bedrock_tool_call_deltas_untouched(gateways):
    tools = [{"type": "function", "function": {"name": "get_current_weather", "parameters": {"type": "object"}}}]
    on = stream_events(gateways[True], "micro", BEDROCK_TOOL_STREAM, tools=tools)
    off = stream_events(gateways[False], "micro", BEDROCK_TOOL_STREAM, tools=tools)
    calls_on, calls_off = tool_deltas(on), tool_deltas(off)
    assert calls_on == calls_off
    assert [d[0]["function"].get("name") for d in calls_on if d[0].get("id")] == ["get_current_weather", "get_current_weather"]
    assert "".join(d[0]["function"].get("arguments", "") for d in calls_on if d[0]["index"] == 0) == '{"location":"Seattle"}'
    assert "".join(d[0]["function"].get("arguments", "") for d in calls_on if d[0]["index"] == 1) == '{"location":"San Francisco"}'
    assert first_content(on).startswith("[micro] ")
    assert "".join(c or "" for c in contents(on)) == "[micro] " + "".join(c or "" for c in contents(off))
    assert [c["choices"][0]["finish_reason"] for c in on if c["choices"]][-1] == "tool_calls"


def test_serve_show_model_prefix_is_the_default(gateway_factory):
    gw = gateway_factory(CONFIG)  # no override: serve.show_model_prefix (true) decides
    with replay_upstream(BEDROCK):
        answer = gw.client().chat.completions.create(model="titan", messages=HELLO)
    assert answer.choices[0].message.content == "[titan] Hi, how can I help you"
