"""The transport seam: the HTTP client is handed in, so a test hands in a transport instead
of opening sockets (``httpx2.MockTransport``), and whoever hands it in owns it.

Every test here runs with no socket at all: the upstream is a function of the request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import httpx2
import pytest
from loopback import completion_body

from llmrouter import errors
from llmrouter.utils import retrying
from llmrouter.utils.api_calling import acall_api, astream_chat
from llmrouter.utils.batching import BATCH_CONCURRENCY
from llmrouter.utils.chat_call import from_request
from llmrouter.utils.http_client import pooled_client
from openclaw_litellm.app import create_app
from llmrouter.config import OpenClawConfig

UPSTREAM = "http://upstream.test/v1"


def request(**extra: Any) -> dict[str, Any]:
    return {"api_name": "m", "api_endpoint": UPSTREAM, "query": "hi", **extra}


def sse(*events: dict[str, Any] | str) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events)


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


async def test_acall_api_sends_through_the_handed_client_and_leaves_it_open() -> None:
    seen: list[httpx2.Request] = []

    def upstream(req: httpx2.Request) -> httpx2.Response:
        seen.append(req)
        return httpx2.Response(200, json=completion_body("from the mock"))

    async with pooled_client(httpx2.MockTransport(upstream)) as client:
        result = await acall_api(request(max_tokens=7), api_keys_env=["k-one"], client=client)
        assert not client.is_closed  # the caller owns it: acall_api must not close it

    assert result["response"] == "from the mock"
    assert (result["prompt_tokens"], result["completion_tokens"], result["token_num"]) == (3, 2, 5)
    assert [str(r.url) for r in seen] == [f"{UPSTREAM}/chat/completions"]
    body = json.loads(seen[0].content)
    assert body["model"] == "m" and body["max_tokens"] == 7
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert seen[0].headers["authorization"] == "Bearer k-one"


async def test_a_batch_shares_one_client_keeps_order_and_respects_the_gate() -> None:
    in_flight = peak = 0

    async def upstream(req: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        text = json.loads(req.content)["messages"][-1]["content"]
        return httpx2.Response(200, json=completion_body(f"echo {text}"))

    count = BATCH_CONCURRENCY * 3
    async with pooled_client(httpx2.MockTransport(upstream)) as client:
        results = await acall_api([request(query=f"q{i}", id=i) for i in range(count)], client=client)

    assert [r["id"] for r in results] == list(range(count))
    assert [r["response"] for r in results] == [f"echo q{i}" for i in range(count)]
    assert 1 < peak <= BATCH_CONCURRENCY


async def test_a_retryable_status_is_retried_through_the_same_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrying, "BACKOFF_BASE", 0.001)
    statuses = iter([503, 200])

    def upstream(req: httpx2.Request) -> httpx2.Response:
        status = next(statuses)
        if status != 200:
            return httpx2.Response(status, json={"error": {"message": "busy"}})
        return httpx2.Response(200, json=completion_body("second time"))

    async with pooled_client(httpx2.MockTransport(upstream)) as client:
        result = await acall_api(request(), max_retries=1, client=client)
    assert result.get("error") is None and result["response"] == "second time"


async def test_a_failure_from_the_transport_is_the_catalog_result() -> None:
    def upstream(req: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=req)

    async with pooled_client(httpx2.MockTransport(upstream)) as client:
        result = await acall_api(request(), max_retries=0, client=client)
    assert result["error_code"] == "upstream_unreachable"
    assert result["response"] == f"ERROR: {result['error']}"
    assert result["token_num"] == 0


async def test_astream_chat_relays_chunks_and_flags_a_stream_cut_short() -> None:
    bodies = iter([
        sse(chunk("Hel"), chunk("lo"), chunk(finish="stop"), "[DONE]"),
        sse(chunk("Hel")),  # the body ends: no finish_reason, no [DONE]
    ])

    def upstream(req: httpx2.Request) -> httpx2.Response:
        assert json.loads(req.content)["stream"] is True
        return httpx2.Response(200, content=next(bodies), headers={"content-type": "text/event-stream"})

    call = from_request(request(), api_keys=(), max_tokens=8, temperature=0.0, top_p=1.0, timeout=5)
    async with pooled_client(httpx2.MockTransport(upstream)) as client:
        whole = [c async for c in astream_chat(call, client=client)]
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in whole) == "Hello"
        with pytest.raises(errors.GatewayError) as cut:
            async for _ in astream_chat(call, client=client):
                pass
    assert cut.value.code == "upstream_interrupted"


def config() -> OpenClawConfig:
    return OpenClawConfig.from_dict({"llms": {"m": {"provider": "vllm", "model": "served-m", "base_url": UPSTREAM}}})


async def test_the_gateway_answers_through_a_client_handed_to_create_app() -> None:
    seen: list[str] = []

    def upstream(req: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(req.content)["model"])
        return httpx2.Response(200, json=completion_body("via the seam", model="served-m"))

    async with pooled_client(httpx2.MockTransport(upstream)) as upstream_client:
        app = create_app(config(), client=upstream_client)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as gateway:
                reply = await gateway.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert not upstream_client.is_closed  # the lifespan closes only what the backend opened
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "via the seam"
    assert seen == ["served-m"]


async def test_the_lifespan_closes_the_client_the_backend_opened() -> None:
    app = create_app(config())
    async with app.router.lifespan_context(app):
        own = app.state.backend.client
        assert not own.is_closed
    assert own.is_closed
