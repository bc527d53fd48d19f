"""Per-key limits as the gateway applies them: the catalog's 403/429, spend from the one cost function."""

from __future__ import annotations

import pytest

from llmrouter import errors
from llmrouter.limits import GatewayKey, KeyRing, Limiter, parse_period
from llmrouter.pricing import Prices, usage_cost
from llmrouter.state import LocalStore


def test_periods_read_like_the_yaml_and_a_bad_one_says_how_to_write_it():
    assert [parse_period(p) for p in ("90s", "15m", "1h", "1d", "30d", "2w", 60)] == [90, 900, 3600, 86400, 2592000, 1209600, 60]
    with pytest.raises(ValueError, match="like 1h, 1d, 30d"):
        parse_period("monthly")
    with pytest.raises(ValueError, match="positive"):
        parse_period("0d")


def test_the_key_ring_finds_the_presented_key_and_nothing_else():
    a, b = GatewayKey.of("sk-gw-alpha-123"), GatewayKey.of("sk-gw-beta-456", rpm=1)
    ring = KeyRing([a, b])
    assert ring.find(b"sk-gw-beta-456") is b and ring.find(b"sk-gw-alpha-123") is a
    assert ring.find(b"sk-gw-beta-45") is None and ring.find(None) is None
    assert "sk-gw-beta-456" not in repr(b) and "sk-gw-beta-456" not in b.id


async def test_over_the_rpm_the_catalog_429_with_retry_after():
    limiter = Limiter(LocalStore())
    key = GatewayKey.of("k", rpm=2)
    await limiter.admit(key, "m")
    await limiter.admit(key, "m")
    with pytest.raises(errors.GatewayError) as caught:
        await limiter.admit(key, "m")
    err = caught.value
    assert (err.status, err.code, err.type) == (429, "rate_limit_exceeded", "requests")
    assert 1 <= err.retry_after <= 60 and "2 requests per minute" in err.message


async def test_a_model_outside_the_allow_list_is_403_and_not_counted():
    limiter = Limiter(LocalStore())
    key = GatewayKey.of("k", rpm=1, models=["cheap"])
    with pytest.raises(errors.GatewayError) as caught:
        await limiter.admit(key, "dear")
    assert (caught.value.status, caught.value.code, caught.value.param) == (403, "model_not_allowed", "model")
    await limiter.admit(key, "cheap")  # the refused request did not use the one request allowed


async def test_spend_is_usage_times_prices_and_the_budget_refuses_with_its_reset():
    limiter = Limiter(LocalStore())
    key = GatewayKey.of("k", budget_usd=0.002, budget_period="1d")
    prices = Prices(input_price=3.0, output_price=15.0)
    usage = {"prompt_tokens": 200, "completion_tokens": 80, "total_tokens": 280}
    usd = await limiter.record(key, "m", usage, prices)
    assert usd == usage_cost(usage, prices) == pytest.approx((200 * 3.0 + 80 * 15.0) / 1e6)
    assert await limiter.spend(key) == {"m": pytest.approx(usd)}
    await limiter.admit(key, "m")  # 0.0018 < 0.002
    await limiter.record(key, "m", usage, prices)
    with pytest.raises(errors.GatewayError) as caught:
        await limiter.admit(key, "m")
    err = caught.value
    assert (err.status, err.code) == (429, "budget_exceeded") and "$0.002 per 1d" in err.message
    assert 1 <= err.retry_after <= 86400
