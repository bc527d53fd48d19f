"""OpenAI-compatible providers: prompt-cache hints go through as sent, cached usage comes back."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from conftest import sse_events
from loopback import StubReply, sse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openclaw"
USAGE = {"prompt_tokens": 9100, "completion_tokens": 12, "total_tokens": 9112,
         "prompt_tokens_details": {"cached_tokens": 8960, "audio_tokens": 0}}


def answer(request) -> StubReply:  # noqa: ANN001
    body = request.json()
    base = {"id": "chatcmpl-up", "created": 1, "model": body["model"]}
    if body.get("stream"):
        return StubReply(parts=sse([
            {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None}]},
            {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {**base, "object": "chat.completion.chunk", "choices": [], "usage": USAGE},
        ]))
    return StubReply(body={**base, "object": "chat.completion", "usage": USAGE,
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]})


@pytest.fixture(scope="module")
def setup(upstream_factory, gateway_factory):  # noqa: ANN001, ANN201
    up = upstream_factory(answer)
    gw = gateway_factory({"llms": {"oa": {"provider": "openai", "model": "gpt-x", "base_url": f"{up.url}/v1", "api_key": "sk-up"}}})
    return up, gw


@pytest.mark.parametrize("stream", [False, True])
def test_openclaw_cache_hints_reach_the_provider_and_its_cached_usage_comes_back(setup, stream: bool) -> None:
    up, gw = setup
    request = json.loads((FIXTURES / "cap2-cachecontrol-long-toolloop.jsonl").read_text().splitlines()[1])["body"]
    response = httpx.post(f"{gw.base_url}/chat/completions", json={**request, "model": "oa", "stream": stream}, timeout=30)
    assert response.status_code == 200, response.text
    sent = up.requests[-1].json()
    assert sent["prompt_cache_key"] == request["prompt_cache_key"]
    assert sent["prompt_cache_retention"] == "24h"
    # cache_control as sent (the gateway leaves out only `content: null`)
    assert sent["messages"] == [{k: v for k, v in m.items() if v is not None} for m in request["messages"]]
    assert sent["tools"] == request["tools"]
    if stream:
        usage = [e for e in sse_events(response.text) if e != "[DONE]"][-1]["usage"]
    else:
        usage = response.json()["usage"]
    assert usage == USAGE
