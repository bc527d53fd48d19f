"""Fallbacks, retries, the deadline and cooldowns, against loopback upstreams.

Each test starts its own upstream (hit counts are per test). Models are named after what
their upstream does; the upstream routes on the provider model id in the request body.
Waits are checked on the service's clock (:class:`SkippingClock`), never on the wall clock.
"""

from __future__ import annotations

import collections
import json
import pytest

from conftest import asgi_gateway, sse_events
from loopback import StubReply, openai_completion_body, openai_sse_parts
from llmrouter import errors
from openclaw_litellm.completions import LoopClock
from openclaw_litellm.cooldown import Cooldowns

HELLO = [{"role": "user", "content": "hello"}]
JSON = {"content-type": "application/json"}
SSE = {"content-type": "text/event-stream"}


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message}}).encode()


def ok(text: str, stream: bool) -> StubReply:
    if stream:
        words = text.split(" ")
        return StubReply(headers=SSE, parts=openai_sse_parts([words[0], *(" " + w for w in words[1:])]))
    return StubReply(headers=JSON, body=openai_completion_body(text))


class Upstreams:
    """One loopback server playing every model; ``hits[model]`` counts its requests."""

    def __init__(self, upstream_factory) -> None:  # noqa: ANN001
        self.hits: collections.Counter[str] = collections.Counter()
        self.up = upstream_factory(self.route)
        self.base = f"{self.up.url}/v1"

    def route(self, request) -> StubReply:  # noqa: ANN001
        if request.path.startswith("/model/"):  # Bedrock Runtime (Converse / ConverseStream)
            model = request.path.split("/")[2]
            self.hits[model] += 1
            assert model == "bedrock-throttled", request.path
            return StubReply(
                status=429,
                headers={"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", **JSON},
                body=b'{"message":"Too many requests, please wait before trying again."}',
            )
        body = request.json()
        model, stream = body["model"], body.get("stream", False)
        self.hits[model] += 1
        n = self.hits[model]
        if model == "down":
            return StubReply(status=503, headers=JSON, body=_error("Service Unavailable"))
        if model == "throttled":
            return StubReply(status=429, headers={"retry-after": "5", **JSON}, body=_error("Rate limit reached"))
        if model == "throttled-once":  # asks for 0.4 s, then answers
            if n == 1:
                return StubReply(status=429, headers={"retry-after": "0.4", **JSON}, body=_error("Rate limit reached"))
            return ok("after the wait", stream)
        if model == "hangs":
            return StubReply(delay=3, headers=JSON, body=openai_completion_body("too late"))
        if model == "bad":
            return StubReply(status=400, headers=JSON, body=_error("max_tokens is too large"))
        if model == "dies":  # the role chunk and "Hello", then the connection drops
            return StubReply(headers=SSE, parts=openai_sse_parts(["Hello"])[:2], abort=True)
        if model == "dies-early":  # only the role chunk (no output yet), then the connection drops
            return StubReply(headers=SSE, parts=openai_sse_parts(["Hello"])[:1], abort=True)
        if model == "backup":
            return ok("from the backup", stream)
        raise AssertionError(f"unexpected model {model}")

    def config(self, models: list[str], fallbacks: list[str] | None = None, **router: object) -> dict:
        return {
            "router": {"fallback_models": fallbacks if fallbacks is not None else ["backup"], **router},
            "llms": {m: {"provider": "vllm", "model": m, "base_url": self.base, "timeout": 0.3 if m == "hangs" else 5} for m in models},
        }


class SkippingClock(LoopClock):
    """The event loop's time plus every wait the service asked for, which it skips and records."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def now(self) -> float:
        return super().now() + sum(self.waits)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def before(self, deadline, awaitable):  # noqa: ANN001, ANN201
        return await super().before(deadline - sum(self.waits), awaitable)


def skipping_clock(app) -> SkippingClock:  # noqa: ANN001
    app.state.service.clock = clock = SkippingClock()
    return clock


@pytest.fixture
def ups(upstream):
    return Upstreams(upstream)


async def chat(client, model: str, stream: bool = False, **extra: object):  # noqa: ANN001, ANN201
    return await client.post("/v1/chat/completions", json={"model": model, "messages": HELLO, "stream": stream, **extra})


def content(reply, stream: bool) -> str:  # noqa: ANN001
    if not stream:
        return reply.json()["choices"][0]["message"]["content"]
    return "".join((e["choices"][0]["delta"].get("content") or "") for e in sse_events(reply.text) if isinstance(e, dict) and e.get("choices"))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("failing", ["down", "throttled", "hangs"])
async def test_a_retryable_failure_falls_back_to_the_next_model(ups, failing, stream):
    async with asgi_gateway(ups.config([failing, "backup"]), prefix=True) as (client, app):
        clock = skipping_clock(app)
        reply = await chat(client, failing, stream)
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-openclaw-model"] == "backup" and reply.headers["x-openclaw-attempts"] == "2"
    assert content(reply, stream) == "[backup] from the backup"
    assert ups.hits == {failing: 1, "backup": 1}
    # A Retry-After of 5 s is not waited for when a fallback can answer now; a hang costs its timeout.
    assert clock.waits == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_bedrock_throttling_falls_back_to_another_provider(ups, stream):
    """The catalog's retryable flag survives LiteLLM's wrapping of the Bedrock handler's error."""
    cfg = ups.config(["backup"])
    cfg["llms"]["titan"] = {"provider": "bedrock", "model": "bedrock-throttled", "aws_region": "us-east-1", "base_url": ups.up.url}
    async with asgi_gateway(cfg) as (client, _):
        reply = await chat(client, "titan", stream)
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-openclaw-model"] == "backup" and reply.headers["x-openclaw-attempts"] == "2"
    assert ups.hits == {"bedrock-throttled": 1, "backup": 1}


async def test_the_fallback_also_serves_auto(ups):
    async with asgi_gateway(ups.config(["down", "backup"])) as (client, _):
        reply = await chat(client, "auto")
    assert (reply.status_code, reply.headers["x-openclaw-model"], reply.headers["x-openclaw-attempts"]) == (200, "backup", "2")
    assert reply.json()["model"] == "backup"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_retries_wait_at_least_retry_after_on_the_same_model(ups, stream):
    async with asgi_gateway(ups.config(["throttled-once"], fallbacks=[], max_retries=1, retry_backoff=0.01)) as (client, app):
        clock = skipping_clock(app)
        reply = await chat(client, "throttled-once", stream)
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-openclaw-model"] == "throttled-once" and reply.headers["x-openclaw-attempts"] == "2"
    assert content(reply, stream) == "after the wait"
    [wait] = clock.waits  # the upstream's Retry-After: 0.4, above the 0.01 backoff
    assert 0.4 <= wait < 2


async def test_retries_back_off_then_fall_back(ups):
    async with asgi_gateway(ups.config(["down", "backup"], max_retries=2, retry_backoff=0.02)) as (client, _):
        reply = await chat(client, "down")
    assert reply.headers["x-openclaw-model"] == "backup" and reply.headers["x-openclaw-attempts"] == "4"
    assert ups.hits == {"down": 3, "backup": 1}


async def test_a_retry_after_beyond_the_deadline_moves_on_without_waiting(ups):
    async with asgi_gateway(ups.config(["throttled", "backup"], max_retries=3, deadline=2)) as (client, app):
        clock = skipping_clock(app)
        reply = await chat(client, "throttled")
    assert reply.headers["x-openclaw-model"] == "backup" and ups.hits == {"throttled": 1, "backup": 1}
    assert clock.waits == []


async def test_when_every_model_fails_the_last_error_is_returned(ups):
    async with asgi_gateway(ups.config(["down", "throttled"], fallbacks=["throttled"])) as (client, _):
        reply = await chat(client, "down")
    assert reply.status_code == 429 and reply.headers["retry-after"] == "5"
    assert reply.json()["error"]["code"] == "rate_limited"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_a_client_error_is_neither_retried_nor_fallen_back(ups, stream):
    async with asgi_gateway(ups.config(["bad", "backup"], max_retries=3)) as (client, _):
        reply = await chat(client, "bad", stream)
    assert reply.status_code == 400
    assert "max_tokens is too large" in reply.json()["error"]["message"]
    assert ups.hits == {"bad": 1}


async def test_a_failure_after_content_ends_the_stream_with_an_error_event(ups):
    async with asgi_gateway(ups.config(["dies", "backup"], max_retries=2), prefix=True) as (client, _):
        reply = await chat(client, "dies", True)
    assert reply.status_code == 200
    assert reply.headers["x-openclaw-model"] == "dies" and reply.headers["x-openclaw-attempts"] == "1"
    events = sse_events(reply.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["type"] == "api_error"
    assert content(reply, True) == "[dies] Hello"  # what was sent stays; no second answer spliced in
    assert ups.hits == {"dies": 1}


async def test_a_failure_before_any_output_still_falls_back(ups):
    """The role-only first chunk is not an answer yet: the stream is primed past it."""
    async with asgi_gateway(ups.config(["dies-early", "backup"])) as (client, _):
        reply = await chat(client, "dies-early", True)
    assert reply.headers["x-openclaw-model"] == "backup" and reply.headers["x-openclaw-attempts"] == "2"
    assert content(reply, True) == "from the backup"
    roles = [e["choices"][0]["delta"].get("role") for e in sse_events(reply.text) if isinstance(e, dict) and e.get("choices")]
    assert roles.count("assistant") == 1


async def test_the_deadline_cuts_a_hanging_attempt(ups):
    """``router.deadline`` cuts an attempt that hangs well within the model's own timeout.

    (Merged with test_faults' copy on a real server.) The cut is proven by its error, not by
    the wall clock: only the deadline raises ``router.deadline = 0.4 s`` (the model's timeout
    would say ``timeout``; an answer after the upstream's 3 s would be a 200).
    """
    cfg = ups.config(["hangs", "backup"], deadline=0.4)
    cfg["llms"]["hangs"]["timeout"] = 10  # the model's own timeout is not what stops it
    async with asgi_gateway(cfg) as (client, _):
        reply = await chat(client, "hangs")
        assert reply.status_code == 504
        error = reply.json()["error"]
        assert error["code"] == "upstream_timeout"
        assert "router.deadline = 0.4 s" in error["message"] and "1 attempt." in error["message"]
        assert ups.hits == {"hangs": 1}
        assert content(await chat(client, "backup"), False) == "from the backup"  # the gateway still serves


async def test_a_model_that_keeps_failing_is_skipped_during_its_cooldown(ups):
    async with asgi_gateway(ups.config(["down", "backup"], cooldown_after=2, cooldown=30)) as (client, app):
        first = [await chat(client, "down") for _ in range(2)]
        assert [r.headers["x-openclaw-attempts"] for r in first] == ["2", "2"]
        assert await app.state.service.cooldowns.cooling("down")
        again = [await chat(client, "down"), await chat(client, "auto", True)]
    assert [(r.headers["x-openclaw-model"], r.headers["x-openclaw-attempts"]) for r in again] == [("backup", "1")] * 2
    assert ups.hits == {"down": 2, "backup": 4}


async def test_a_cooling_model_still_serves_when_it_is_the_only_candidate(ups):
    async with asgi_gateway(ups.config(["down"], fallbacks=[], cooldown_after=1)) as (client, app):
        replies = [await chat(client, "down") for _ in range(3)]
    assert [r.status_code for r in replies] == [502] * 3
    assert ups.hits == {"down": 3}


# --- the cooldown bookkeeping, on a fake clock ---------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


DOWN = errors.upstream_error("m", "test", 503)
CANDIDATES = [("a", 1), ("b", 2), ("c", 3)]


async def test_cooldown_after_consecutive_failures_and_expiry():
    clock = Clock()
    cd = Cooldowns(after=3, seconds=10, clock=clock)
    for _ in range(2):
        await cd.failure("a", DOWN)
    assert not await cd.cooling("a") and await cd.order(CANDIDATES) == CANDIDATES
    await cd.failure("a", DOWN)
    assert await cd.cooling("a") and [n for n, _ in await cd.order(CANDIDATES)] == ["b", "c", "a"]
    clock.now += 10
    assert not await cd.cooling("a")
    await cd.failure("a", DOWN)  # half-open: one more failure after the cooldown cools it again
    assert await cd.cooling("a")
    await cd.success("a")
    assert not await cd.cooling("a")
    await cd.failure("a", DOWN)
    assert not await cd.cooling("a")


async def test_success_resets_the_count_and_client_errors_do_not_count():
    cd = Cooldowns(after=2, seconds=10, clock=Clock())
    await cd.failure("a", DOWN)
    await cd.success("a")
    await cd.failure("a", DOWN)
    await cd.failure("a", errors.bad_request("nope"))
    assert not await cd.cooling("a")


async def test_retry_after_cools_a_model_for_as_long_as_it_asks_at_most_the_cooldown():
    clock = Clock()
    cd = Cooldowns(after=3, seconds=10, clock=clock)
    await cd.failure("a", errors.throttled("m", None, "test", retry_after=2))
    await cd.failure("b", errors.throttled("m", None, "test", retry_after=60))
    clock.now += 2
    assert not await cd.cooling("a") and await cd.cooling("b")
    clock.now += 8
    assert not await cd.cooling("b")


async def test_a_zero_cooldown_disables_it():
    cd = Cooldowns(after=1, seconds=0, clock=Clock())
    await cd.failure("a", errors.throttled("m", None, "test", retry_after=5))
    assert not await cd.cooling("a")


async def test_the_cooldown_gauge_follows_the_model_through_cooldown_and_recovery():
    from prometheus_client import REGISTRY

    def shown(name: str) -> float | None:
        return REGISTRY.get_sample_value("llmrouter_model_in_cooldown", {"model": name})

    clock = Clock()
    cd = Cooldowns(after=2, seconds=10, clock=clock)
    await cd.failure("gauge-a", DOWN)
    assert shown("gauge-a") == 0  # one failure: on record, not cooling
    await cd.failure("gauge-a", DOWN)
    assert shown("gauge-a") == 1
    await cd.marks(["gauge-a", "gauge-b"])
    assert shown("gauge-a") == 1
    clock.now += 10
    await cd.marks(["gauge-a"])  # the cooldown ran out: a read shows it
    assert shown("gauge-a") == 0
    await cd.failure("gauge-a", DOWN)  # half-open: cooling again at once
    assert shown("gauge-a") == 1
    await cd.success("gauge-a")
    assert shown("gauge-a") == 0
