"""The LiteLLM warm-up: requests waiting for it hold no thread and block nobody else.

The import is replaced by a loader that waits for the test's signal (the real one takes
seconds), so "during the warm-up" lasts exactly as long as each test needs.
"""

from __future__ import annotations

import asyncio
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from loopback import StubReply, openai_completion_body
from openclaw_litellm import litellm_warmup
from openclaw_litellm.app import create_app
from llmrouter.config import OpenClawConfig
from openclaw_litellm.litellm_warmup import LiteLLMWarmup
from real_server import serving

HELLO = [{"role": "user", "content": "hello"}]
# More than any default executor has threads (min(32, cores + 4)).
WAITERS = 40


async def _fake_acompletion(**kwargs: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": kwargs.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "bedrock ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


FAKE_LITELLM = types.SimpleNamespace(
    acompletion=_fake_acompletion, utils=types.SimpleNamespace(validate_chat_completion_user_messages=lambda messages: messages)
)


@pytest.fixture
def release(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The warm-up loads nothing until ``release.set()``; then it yields a stand-in LiteLLM."""
    event = threading.Event()

    def slow_load() -> Any:
        event.wait(30)
        return FAKE_LITELLM

    monkeypatch.setattr(litellm_warmup, "_load_and_register", slow_load)
    yield event
    event.set()  # never leave a warm-up thread waiting


def _new_threads(before: set[threading.Thread]) -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t not in before and t.is_alive())


async def test_waiters_hold_no_thread_and_cancelled_ones_leave_none(release: threading.Event) -> None:
    warm = LiteLLMWarmup()
    before = set(threading.enumerate())
    waiters = [asyncio.create_task(warm.ready()) for _ in range(WAITERS)]
    await asyncio.sleep(0.2)
    assert _new_threads(before) == ["litellm-warmup"]

    for task in waiters[: WAITERS // 2]:
        task.cancel()
    await asyncio.sleep(0.1)
    assert all(task.cancelled() for task in waiters[: WAITERS // 2])
    assert _new_threads(before) == ["litellm-warmup"]
    assert not warm.loaded

    release.set()
    results = await asyncio.wait_for(asyncio.gather(*waiters[WAITERS // 2 :]), 5)
    assert all(module is FAKE_LITELLM for module in results)
    assert warm.loaded
    assert await warm.ready() is FAKE_LITELLM  # after the warm-up: at once


async def test_the_loops_executor_stays_free_while_requests_wait(release: threading.Event) -> None:
    """Host-name resolution for a new upstream connection runs in the default executor."""
    warm = LiteLLMWarmup()
    waiters = [asyncio.create_task(warm.ready()) for _ in range(WAITERS)]
    await asyncio.sleep(0.1)
    await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo("localhost", 80), 3)
    assert not any(w.done() for w in waiters)  # resolved while the warm-up still held every waiter
    release.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 5)


def test_waiters_on_several_event_loops_are_all_woken(release: threading.Event) -> None:
    warm = LiteLLMWarmup()
    results: list[Any] = []

    def in_own_loop() -> None:
        results.append(asyncio.run(asyncio.wait_for(warm.ready(), 5)))

    threads = [threading.Thread(target=in_own_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == [FAKE_LITELLM] * 3


async def test_a_failed_warm_up_is_raised_to_every_waiter(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()

    def broken() -> Any:
        gate.wait(10)
        raise ModuleNotFoundError("No module named 'boto3'")

    monkeypatch.setattr(litellm_warmup, "_load_and_register", broken)
    warm = LiteLLMWarmup()
    waiters = [asyncio.create_task(warm.ready()) for _ in range(3)]
    await asyncio.sleep(0.05)
    gate.set()
    outcomes = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 5)
    assert all(isinstance(o, ModuleNotFoundError) for o in outcomes)
    assert not warm.loaded


def _executor_threads(before: set[threading.Thread]) -> list[str]:
    """New threads of an event loop's default executor (``asyncio_N``, ``uvloop_N``)."""
    return [name for name in _new_threads(before) if name.startswith(("asyncio_", "uvloop_"))]


# uvicorn picks uvloop when installed (uvicorn[standard] on Linux, macOS), asyncio otherwise.
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
async def test_bedrock_requests_waiting_for_the_warm_up_do_not_stall_a_new_upstream(
    release: threading.Event, upstream_factory, loop: str
) -> None:
    """Many Bedrock requests wait for LiteLLM; a request to another model, whose upstream
    needs a fresh connection to a host *name* (asyncio resolves it in the default executor),
    is answered now, and the waiting requests hold no executor thread."""
    up = upstream_factory(lambda request: StubReply(headers={"content-type": "application/json"}, body=openai_completion_body("direct ok")))
    config = OpenClawConfig.from_dict({
        "llms": {
            "bedrock": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1"},
            "direct": {"provider": "vllm", "model": "m", "base_url": up.url.replace("127.0.0.1", "localhost") + "/v1"},
        }
    })
    before = set(threading.enumerate())
    with serving(create_app(config, warmup=LiteLLMWarmup()), loop=loop) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=WAITERS + 5)) as client:
            waiting = [
                asyncio.create_task(client.post("/v1/chat/completions", json={"model": "bedrock", "messages": HELLO}))
                for _ in range(WAITERS)
            ]
            await asyncio.sleep(0.5)
            assert (await client.get("/health/ready")).status_code == 503  # still warming up
            assert _executor_threads(before) == []
            direct = await client.post("/v1/chat/completions", json={"model": "direct", "messages": HELLO}, timeout=5)
            # Answered while the warm-up still holds the Bedrock requests (released only below).
            direct_during_warmup = not any(w.done() for w in waiting) and (await client.get("/health/ready")).status_code == 503
            release.set()
            answers = await asyncio.gather(*waiting)
    assert direct.status_code == 200, direct.text
    assert direct.json()["choices"][0]["message"]["content"] == "direct ok"
    assert direct_during_warmup, "the other model waited behind the warm-up"
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["choices"][0]["message"]["content"] for a in answers} == {"bedrock ok"}
