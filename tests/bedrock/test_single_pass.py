"""Bedrock through the gateway: LiteLLM's pipeline runs once, and the Converse call goes out
signed by botocore on the pooled client the server hands in.

The server's backend calls ``litellm.acompletion("openclaw-bedrock/...")`` (the product's
promise: LiteLLM's custom provider); the handler's call_api core then sends Converse itself.
The pooled client here has an ``httpx2.MockTransport``: what it sees is exactly what Bedrock
would receive, and no socket is opened.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest

from bench.upstreams.eventstream import CONVERSE_STREAM_CONTENT_TYPE, encode_event
from llmrouter.config import OpenClawConfig
from llmrouter.utils import aws_signing
from llmrouter.utils.http_client import pooled_client
from openclaw_litellm.backend import LLMBackend
from openclaw_litellm.litellm_warmup import LiteLLMWarmup

MODEL = "amazon.nova-lite-v1:0"
URL = "https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.nova-lite-v1%3A0"
CONVERSE = {"output": {"message": {"role": "assistant", "content": [{"text": "Bonjour"}]}}, "stopReason": "end_turn",
            "usage": {"inputTokens": 7, "outputTokens": 2, "totalTokens": 9}, "metrics": {"latencyMs": 5}}
STREAM = (
    encode_event("messageStart", {"role": "assistant"})
    + encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Bon"}})
    + encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "jour"}})
    + encode_event("contentBlockStop", {"contentBlockIndex": 0})
    + encode_event("messageStop", {"stopReason": "end_turn"})
    + encode_event("metadata", {"usage": CONVERSE["usage"], "metrics": CONVERSE["metrics"]})
)


@pytest.fixture(scope="module")
def warmup() -> LiteLLMWarmup:
    warm = LiteLLMWarmup()
    warm.start()
    return warm


@pytest.fixture
def bedrock(warmup: LiteLLMWarmup, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``(backend, llm, sent, acompletion_calls)`` with a MockTransport Bedrock behind the pooled client."""
    sent: list[httpx2.Request] = []

    def upstream(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        if request.url.path.endswith("/converse-stream"):
            return httpx2.Response(200, headers={"content-type": CONVERSE_STREAM_CONTENT_TYPE}, content=STREAM)
        return httpx2.Response(200, json=CONVERSE)

    config = OpenClawConfig.from_dict({"llms": {"nova": {"provider": "bedrock", "model": MODEL, "aws_region": "eu-west-3"}}})
    client = pooled_client(httpx2.MockTransport(upstream))
    backend = LLMBackend(config, warmup, client)
    litellm = warmup._module if warmup.loaded else None
    calls: list[str] = []
    if litellm is None:  # the module fixture's warm-up is still running: wait for it
        litellm = asyncio.run(warmup.ready())
    original = litellm.acompletion

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("model", ""))
        return await original(*args, **kwargs)

    monkeypatch.setattr(litellm, "acompletion", counting)
    yield backend, config.llms["nova"], sent, calls
    asyncio.run(client.aclose())  # a MockTransport holds no socket: any loop can close it


def _assert_signed_converse(request: httpx2.Request, path: str) -> None:
    assert str(request.url) == f"{URL}/{path}"
    auth = request.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDTESTINGONLY0000/") and "/eu-west-3/bedrock/aws4_request" in auth
    assert request.headers["x-amz-date"]
    body = json.loads(request.content)
    assert body["messages"] == [{"role": "user", "content": [{"text": "Bonjour?"}]}]
    assert body["system"] == [{"text": "Answer in French."}]
    assert body["inferenceConfig"] == {"maxTokens": 12}


MESSAGES = [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Bonjour?"}]


async def test_a_completion_is_one_litellm_pass_and_one_signed_converse_on_the_pooled_client(bedrock: Any) -> None:
    backend, llm, sent, calls = bedrock
    completion = await backend.complete(llm, MESSAGES, {"max_tokens": 12})
    assert completion["choices"][0]["message"]["content"] == "Bonjour"
    assert completion["usage"] == {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9,
                                   "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}}
    assert calls == [f"openclaw-bedrock/{MODEL}"]  # the custom provider only: no inner bedrock/converse pass
    assert len(sent) == 1
    _assert_signed_converse(sent[0], "converse")


async def test_a_stream_is_one_litellm_pass_and_one_signed_converse_stream_on_the_pooled_client(bedrock: Any) -> None:
    backend, llm, sent, calls = bedrock
    chunks = [chunk async for chunk in backend.stream(llm, MESSAGES, {"max_tokens": 12})]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Bonjour"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]] == ["stop"]
    assert chunks[-1]["usage"] == {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9,
                                   "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}}
    assert calls == [f"openclaw-bedrock/{MODEL}"]
    assert len(sent) == 1
    _assert_signed_converse(sent[0], "converse-stream")


def test_credentials_are_resolved_once_and_afresh_when_the_environment_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    first = aws_signing.credentials_for(None)
    assert first is not None and aws_signing.credentials_for(None) is first
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDROTATEDKEY000000")
    rotated = aws_signing.credentials_for(None)
    assert rotated is not first and rotated.access_key == "AKIDROTATEDKEY000000"


@pytest.mark.parametrize("part", [
    {"type": "bogus"},  # LiteLLM cannot turn it into Converse
    {"type": "file", "file": {"file_id": "https://example.com/report.pdf"}},  # LiteLLM would download it
    {"type": "file", "file": {"file_data": "http://169.254.169.254/latest/meta-data/"}},
    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
])
async def test_a_content_part_bedrock_cannot_take_is_a_400_before_any_network(bedrock: Any, part: dict[str, Any]) -> None:
    """The client's own request shape: not a retryable 502 (which would cool the model for
    everyone) and never a download by the gateway."""
    from llmrouter import errors

    backend, llm, sent, _ = bedrock
    messages = [{"role": "user", "content": [{"type": "text", "text": "Look"}, part]}]
    with pytest.raises(errors.GatewayError) as caught:
        await backend.complete(llm, messages, {"max_tokens": 12})
    assert (caught.value.status, caught.value.retryable) == (400, False), caught.value.message
    assert sent == []
