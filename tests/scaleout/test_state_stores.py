"""Both state stores keep the same rules: round robin, cooldowns, rate windows, spend.

The Redis store runs against a real ``redis-server``; two Redis stores stand for two gateway
instances. Then Redis goes away mid-test and comes back.
"""

from __future__ import annotations

import logging
import time

import pytest

from llmrouter.state import KeyLimits, LocalStore, key_id
from llmrouter.state.redis_store import RedisStore
from scaleout_support import redis_server  # noqa: F401 - fixture

KEY = key_id("sk-test-" + "a" * 16)


@pytest.fixture(params=["local", "redis"])
def make_store(request, redis_server):  # noqa: F811
    """``make_store()`` -> a fresh store of the kind under test; Redis stores share one server."""
    if request.param == "local":
        yield lambda: LocalStore()
        return
    redis_server.client().flushdb()
    stores: list[RedisStore] = []

    def make() -> RedisStore:
        stores.append(RedisStore(redis_server.url))
        return stores[-1]

    yield make
    # A store that fell back to local state would pass the rules above without Redis.
    assert all(store.shared for store in stores), "a Redis store fell back to local state"


async def test_round_robin_positions_count_up_per_pool(make_store):
    store = make_store()
    assert [await store.next_turn("a") for _ in range(3)] == [0, 1, 2]
    assert await store.next_turn("b") == 0


async def test_cooldown_after_consecutive_failures_and_cleared_by_success(make_store):
    store = make_store()
    assert await store.failures(["m1", "m2"]) == {}
    assert await store.failed("m1", 2, 30, None) is False
    assert await store.failures(["m1", "m2"]) == {"m1": False}  # on record, not cooling yet
    assert await store.failed("m1", 2, 30, None) is True
    assert await store.failures(["m1", "m2"]) == {"m1": True}
    await store.succeeded("m1")
    assert await store.failures(["m1", "m2"]) == {}


async def test_retry_after_cools_at_once_for_as_long_as_asked(make_store):
    store = make_store()
    assert await store.failed("m1", 5, 30, 0.3) is True
    assert await store.failures(["m1"]) == {"m1": True}
    time.sleep(0.4)
    assert await store.failures(["m1"]) == {"m1": False}


async def test_rpm_refuses_the_request_over_the_limit_and_says_when_to_retry(make_store):
    store = make_store()
    limits = KeyLimits(rpm=3)
    assert [await store.admit(KEY, limits) for _ in range(3)] == [None, None, None]
    refusal = await store.admit(KEY, limits)
    assert refusal is not None and refusal.reason == "rpm" and 1 <= refusal.retry_after <= 60 and refusal.limit == 3
    assert await store.admit(key_id("another"), limits) is None  # per key


async def test_tpm_refuses_once_the_minute_has_used_its_tokens(make_store):
    store = make_store()
    limits = KeyLimits(tpm=100)
    assert await store.admit(KEY, limits) is None
    await store.record_usage(KEY, "m", 60, 0.0, limits.budget_period)
    assert await store.admit(KEY, limits) is None
    await store.record_usage(KEY, "m", 40, 0.0, limits.budget_period)
    refusal = await store.admit(KEY, limits)
    assert refusal is not None and refusal.reason == "tpm"


async def test_spend_adds_up_per_model_and_the_budget_holds(make_store):
    store = make_store()
    limits = KeyLimits(budget_usd=0.01, budget_period=86400)
    await store.record_usage(KEY, "cheap", 10, 0.004, 86400)
    await store.record_usage(KEY, "dear", 10, 0.005, 86400)
    await store.record_usage(KEY, "cheap", 10, 0.0005, 86400)
    spend = await store.spend(KEY, 86400)
    assert spend == pytest.approx({"cheap": 0.0045, "dear": 0.005})
    assert await store.admit(KEY, limits) is None  # 0.0095 < 0.01
    await store.record_usage(KEY, "dear", 1, 0.0005, 86400)
    refusal = await store.admit(KEY, limits)
    assert refusal is not None and refusal.reason == "budget"
    assert 0 < refusal.retry_after <= 86400  # the next period, aligned on the epoch (00:00 UTC)


async def test_two_redis_stores_share_one_view(redis_server):  # noqa: F811
    redis_server.client().flushdb()
    a, b = RedisStore(redis_server.url), RedisStore(redis_server.url)
    assert [await a.next_turn("p"), await b.next_turn("p"), await a.next_turn("p")] == [0, 1, 2]
    assert await a.failed("m", 1, 30, None) is True
    assert await b.failures(["m"]) == {"m": True}
    await b.succeeded("m")
    assert await a.failures(["m"]) == {}
    limits = KeyLimits(rpm=2)
    assert await a.admit(KEY, limits) is None and await b.admit(KEY, limits) is None
    assert (await a.admit(KEY, limits)).reason == "rpm"


async def test_every_redis_key_expires_and_no_key_is_stored_in_clear(redis_server):  # noqa: F811
    redis_server.client().flushdb()
    secret = "sk-planted-" + "z" * 20
    store = RedisStore(redis_server.url)
    limits = KeyLimits(rpm=5, tpm=500, budget_usd=1.0, budget_period=3600)
    await store.next_turn("pool")
    await store.failed("m", 1, 30, None)
    await store.admit(key_id(secret), limits)
    await store.record_usage(key_id(secret), "m", 12, 0.001, 3600)
    client = redis_server.client()
    keys = list(client.scan_iter("*"))
    assert len(keys) >= 5 and all(k.startswith("llmrouter:") for k in keys)
    assert all(client.ttl(k) > 0 for k in keys), {k: client.ttl(k) for k in keys}
    assert secret not in redis_server.dump() and "planted" not in redis_server.dump()


async def test_redis_gone_then_back_local_state_meanwhile_and_one_warning(redis_server, caplog):  # noqa: F811
    redis_server.client().flushdb()
    a, b = RedisStore(redis_server.url), RedisStore(redis_server.url)
    assert await a.next_turn("p") == 0 and await b.next_turn("p") == 1
    redis_server.kill()
    with caplog.at_level(logging.WARNING, logger="llmrouter.state"):
        started = time.monotonic()
        turns = [await a.next_turn("p") for _ in range(20)]
        elapsed = time.monotonic() - started
    assert turns == list(range(20))  # a's own local counter: served, not failed
    assert elapsed < 0.5, f"20 calls with Redis down took {elapsed:.3f} s"
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and not a.shared
    assert f"127.0.0.1:{redis_server.port}/0" in warnings[0].getMessage()

    redis_server.start()  # an empty Redis on the same port, as after a restart without persistence
    time.sleep(1.1)  # RedisStore.RETRY_S
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="llmrouter.state"):
        assert await a.next_turn("p") == 0
    assert await b.next_turn("p") == 1  # shared again
    assert a.shared and any("back" in r.getMessage() for r in caplog.records)
