"""``serve.usage_chunk``: a usage chunk ends every stream (``always``, the default), or only
streams that ask for it with ``stream_options.include_usage`` (``requested``).

Why ``always`` by default: OpenClaw sends ``stream_options`` only to local hosts; at any other
address it asks for nothing and records no usage (and no cost) unless the server sends a usage
chunk anyway, which it consumes correctly, as OpenAI's SDKs do.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conftest import replay_upstream, sse_events
from e2e.upstreams import BedrockUpstream, OpenAIUpstream
from llmrouter.config import ConfigError, OpenClawConfig

BEDROCK_STREAM = "opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[OpenAIUpstream, BedrockUpstream]]:
    with OpenAIUpstream() as oa, BedrockUpstream() as br:
        yield oa, br


def config(upstreams: tuple[OpenAIUpstream, BedrockUpstream], usage_chunk: str | None) -> dict:
    oa, br = upstreams
    serve = {} if usage_chunk is None else {"usage_chunk": usage_chunk}
    return {"serve": serve, "llms": {
        "oa": {"provider": "openai", "model": "scripted", "base_url": f"{oa.url}/v1"},
        "claude": {"provider": "bedrock", "model": "anthropic.claude-3-5-haiku-20241022-v1:0", "aws_region": "us-east-1", "base_url": br.url},
        "titan": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1"},
    }}


@pytest.fixture(scope="module")
def default_gw(gateway_factory, upstreams):  # noqa: ANN001, ANN201
    return gateway_factory(config(upstreams, None))


@pytest.fixture(scope="module")
def requested_gw(gateway_factory, upstreams):  # noqa: ANN001, ANN201
    return gateway_factory(config(upstreams, "requested"))


def raw_chunks(gw, model: str, **extra: object) -> list[dict]:  # noqa: ANN001
    body = {"model": model, "messages": HELLO, "stream": True, **extra}
    response = httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    return events[:-1]


def test_default_is_always():
    assert OpenClawConfig.from_dict({"llms": {"m": {"model": "x", "base_url": "http://127.0.0.1:1/v1"}}}).serve.usage_chunk == "always"


@pytest.mark.parametrize("model", ["oa", "claude"])
def test_unrequested_usage_chunk_ends_every_stream_by_default(default_gw, upstreams, model):
    chunks = raw_chunks(default_gw, model)  # no stream_options, as OpenClaw at a non-local host
    usage_chunks = [c for c in chunks if "usage" in c]
    assert usage_chunks == [chunks[-1]] and chunks[-1]["choices"] == []
    usage = chunks[-1]["usage"]
    # The provider's real counts (the gateway always asks its upstream for usage), not zeros.
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert all(c["choices"] for c in chunks[:-1])


def test_recorded_bedrock_usage_arrives_unasked(default_gw):
    with replay_upstream(BEDROCK_STREAM):
        chunks = raw_chunks(default_gw, "titan")
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_official_client_consumes_the_unrequested_usage_chunk(default_gw):
    chunks = list(default_gw.client().chat.completions.create(model="oa", messages=HELLO, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "No tools were offered, so here is a plain answer."
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


@pytest.mark.parametrize("model", ["oa", "claude"])
def test_requested_mode_sends_usage_only_when_asked(requested_gw, model):
    unasked = raw_chunks(requested_gw, model)
    assert not any("usage" in c for c in unasked) and all(c["choices"] for c in unasked)
    asked = raw_chunks(requested_gw, model, stream_options={"include_usage": True})
    assert asked[-1]["choices"] == [] and asked[-1]["usage"]["total_tokens"] > 0
    explicitly_not = raw_chunks(requested_gw, model, stream_options={"include_usage": False})
    assert not any("usage" in c for c in explicitly_not)


def test_non_streamed_answers_always_carry_usage(requested_gw):
    answer = requested_gw.client().chat.completions.create(model="oa", messages=HELLO)
    assert answer.usage.total_tokens > 0


def test_a_wrong_setting_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError) as caught:
        OpenClawConfig.from_dict({"serve": {"usage_chunk": "sometimes"}, "llms": {"m": {"model": "x", "base_url": "http://127.0.0.1:1/v1"}}})
    assert "serve.usage_chunk" in str(caught.value)
