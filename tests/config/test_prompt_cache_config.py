"""Per-model prompt-cache settings: parsed, checked, and carried to both Bedrock call paths."""

from __future__ import annotations

import pytest

from llmrouter.config import ConfigError, OpenClawConfig
from llmrouter.provider_params import call_request, litellm_params
from llmrouter.utils.chat_call import from_request

BASE = {"provider": "bedrock", "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws_region": "us-east-1"}


def config(**model: object) -> OpenClawConfig:
    return OpenClawConfig.from_dict({"llms": {"claude": {**BASE, **model}}})


def test_defaults_are_auto_and_five_minutes() -> None:
    llm = config().llms["claude"]
    assert (llm.prompt_cache, llm.prompt_cache_ttl, llm.cache_read_price, llm.cache_write_price) == ("auto", "5m", None, None)


def test_settings_reach_the_cli_request_and_the_servers_handler() -> None:
    cfg = config(prompt_cache="off", prompt_cache_ttl="1h", cache_read_price=0.3, cache_write_price=6.0)
    llm = cfg.llms["claude"]
    request = call_request("claude", llm, cfg)
    call = from_request({**request, "query": "hi"}, api_keys=(), max_tokens=8, temperature=0.0, top_p=1.0, timeout=5)
    assert (call.prompt_cache, call.prompt_cache_ttl) == ("off", "1h")
    assert litellm_params(llm, 5.0)["metadata"] == {"prompt_cache": "off", "prompt_cache_ttl": "1h"}


@pytest.mark.parametrize(("key", "value"), [("prompt_cache", "always"), ("prompt_cache_ttl", "24h"), ("cache_read_price", -1)])
def test_a_bad_value_is_a_one_line_error_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        config(**{key: value})
    assert f"llms.claude.{key}" in str(caught.value) and "\n" not in str(caught.value)
