"""The loopback Bedrock upstream's prompt-cache rules (e2e/bedrock_cache_rules.py) hold Bedrock's line.

It checks the gateway in the end-to-end run, so it must refuse what Bedrock refuses and read
back only what Bedrock would have cached.
"""

from __future__ import annotations

from e2e.bedrock_cache_rules import TTL_ORDER, UNSUPPORTED_MODEL, PromptCache, cache_violation

SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
POINT = {"cachePoint": {"type": "default"}}
HOUR = {"cachePoint": {"type": "default", "ttl": "1h"}}


def body(system_points: list[dict], text: str = "x" * 8000, message_points: list[dict] | None = None) -> dict:
    return {"system": [{"text": text}, *system_points],
            "messages": [{"role": "user", "content": [{"text": "hello"}, *(message_points or [])]}]}


def test_what_bedrock_refuses() -> None:
    assert cache_violation(body([POINT]), SONNET_45) is None
    assert cache_violation(body([POINT]), "amazon.titan-text-lite-v1") == UNSUPPORTED_MODEL
    assert "Found 5" in cache_violation(body([POINT, POINT], message_points=[POINT, POINT, POINT]), SONNET_45)
    assert cache_violation(body([POINT], message_points=[HOUR]), SONNET_45) == TTL_ORDER
    assert cache_violation(body([HOUR], message_points=[POINT]), SONNET_45) is None
    assert cache_violation(body([HOUR]), "anthropic.claude-3-7-sonnet-20250219-v1:0") == UNSUPPORTED_MODEL  # no 1h there
    assert cache_violation(body([]), "amazon.titan-text-lite-v1") is None  # no points: nothing to refuse


def test_a_seen_prefix_is_read_and_the_rest_written() -> None:
    cache = PromptCache()
    first = cache.account(body([POINT]), SONNET_45)
    assert first["cacheReadInputTokens"] == 0 and first["cacheWriteInputTokens"] >= 2000
    again = cache.account(body([POINT], message_points=[POINT]), SONNET_45)
    assert again["cacheReadInputTokens"] == first["cacheWriteInputTokens"]
    assert 0 < again["cacheWriteInputTokens"] < 10  # only the user's "hello"
    other_model = cache.account(body([POINT]), "anthropic.claude-sonnet-4-20250514-v1:0")
    assert other_model["cacheReadInputTokens"] == 0  # caches are per model


def test_below_the_minimum_nothing_is_cached() -> None:
    cache = PromptCache()
    for _ in range(2):
        usage = cache.account(body([POINT], text="short"), SONNET_45)
        assert usage["cacheReadInputTokens"] == usage["cacheWriteInputTokens"] == 0
