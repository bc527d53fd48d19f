"""The one cost function prices what the usage says, cache reads and writes included."""

import math

from llmrouter.pricing import Prices, usage_cost


def test_plain_usage_is_tokens_times_prices_per_million():
    usage = {"prompt_tokens": 1_000, "completion_tokens": 500, "total_tokens": 1_500}
    assert math.isclose(usage_cost(usage, {"input_price": 3.0, "output_price": 15.0}), 0.003 + 0.0075)


def test_cached_input_is_priced_at_read_and_write_rates_not_twice():
    usage = {
        "prompt_tokens": 10_000,  # includes the cached part, as the gateway reports it
        "completion_tokens": 0,
        "prompt_tokens_details": {"cached_tokens": 8_000, "cache_write_tokens": 1_000},
    }
    # 1,000 uncached at 3.0 + 8,000 read at 0.3 + 1,000 written at 3.75
    assert math.isclose(usage_cost(usage, Prices(3.0, 15.0)), (3_000 + 2_400 + 3_750) / 1e6)
    explicit = Prices(3.0, 15.0, cache_read_price=0.5, cache_write_price=6.0)
    assert math.isclose(usage_cost(usage, explicit), (3_000 + 4_000 + 6_000) / 1e6)


def test_unpriced_model_and_odd_usage_cost_nothing_instead_of_failing():
    assert usage_cost({"prompt_tokens": 10, "completion_tokens": 5}, {}) == 0.0
    assert usage_cost(None, Prices(1.0, 1.0)) == 0.0
    assert usage_cost({"prompt_tokens": "x", "completion_tokens": None}, Prices(1.0, 1.0)) == 0.0


def test_config_prices_cache_writes_at_2x_for_a_one_hour_ttl():
    from llmrouter.config import LLMConfig

    usage = {"prompt_tokens": 10_000, "completion_tokens": 0, "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 10_000}}
    five = LLMConfig(provider="bedrock", model="anthropic.claude-sonnet-4-5-20250929-v1:0", input_price=3.0)
    hour = five.model_copy(update={"prompt_cache_ttl": "1h"})
    assert math.isclose(usage_cost(usage, five), 0.0375) and math.isclose(usage_cost(usage, hour), 0.06)
    assert math.isclose(usage_cost(usage, hour.model_copy(update={"cache_write_price": 4.0})), 0.04)


def test_a_1h_ttl_is_priced_at_2x_only_where_the_model_really_caches_for_an_hour():
    usage = {"prompt_tokens": 1_000, "completion_tokens": 0, "prompt_tokens_details": {"cache_write_tokens": 1_000}}
    hour = {"model": "anthropic.claude-sonnet-4-5-20250929-v1:0", "prompt_cache_ttl": "1h", "input_price": 3.0}
    assert math.isclose(usage_cost(usage, hour), 1_000 * 6.0 / 1e6)
    # Claude 3.7 has no 1-hour TTL: the gateway sends 5-minute points, written at 1.25x.
    five_minutes = {**hour, "model": "anthropic.claude-3-7-sonnet-20250219-v1:0"}
    assert math.isclose(usage_cost(usage, five_minutes), 1_000 * 3.75 / 1e6)
