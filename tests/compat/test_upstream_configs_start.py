"""The original OpenClaw Router's YAML files start here unchanged and list every model.

The two configs in tests/fixtures/upstream are real (LLMRouter upstream and its Bedrock fork),
copied byte for byte. No provider key is in the environment, as for a user who has not
exported anything yet: the gateway must start anyway, say what it ignores or lacks, and serve.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import yaml

from llmrouter.config import OpenClawConfig

UPSTREAM = Path(__file__).resolve().parent.parent / "fixtures" / "upstream"
PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOGETHER_API_KEY", "NVIDIA_API_KEY", "API_KEYS")


@pytest.fixture
def no_provider_keys(monkeypatch):
    for name in PROVIDER_KEYS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name", ["openclaw_router_config.yaml", "bedrock_fork_openclaw_example.yaml"])
def test_an_upstream_config_starts_unchanged_and_lists_every_model(name, no_provider_keys, gateway, caplog):
    path = UPSTREAM / name
    expected = list(yaml.safe_load(path.read_text())["llms"])
    config = OpenClawConfig.from_yaml(path)
    with caplog.at_level(logging.WARNING, logger="openclaw.startup"):
        gw = gateway(config)
    listed = [m["id"] for m in httpx.get(f"{gw.base_url}/models", timeout=10).json()["data"]]
    assert listed == ["auto", *expected]
    assert any("`memory:`" in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records)


def test_the_together_config_keeps_its_meaning(no_provider_keys, caplog):
    config = OpenClawConfig.from_yaml(UPSTREAM / "openclaw_router_config.yaml")
    # strategy llm with the router model inline: that model decides, and is not served itself
    assert config.router.strategy == "llm"
    router = config.router.router_llm
    assert (router.provider, router.model, router.base_url) == (
        "together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "https://api.together.xyz/v1",
    )
    assert config.api_keys == {"together": "Your-Together-API-Key"}
    notices = " | ".join(config.notices)
    assert "`media:`" in notices and "enabled: true, but the whole section is ignored" in notices
    assert "`memory:`" in notices and "disabled, and the whole section is ignored" in notices


def test_the_fork_config_warns_about_the_unset_keys_no_model_uses(no_provider_keys, gateway, caplog):
    config = OpenClawConfig.from_yaml(UPSTREAM / "bedrock_fork_openclaw_example.yaml")
    assert config.router.strategy == "random" and config.router.weights == {"llama-3.1-8b": 3, "llama3-70b": 1}
    assert [config.llms[n].aws_region for n in ("claude-3-sonnet", "claude-3-haiku", "mistral-7b-bedrock")] == [
        "us-east-1", "us-west-2", "eu-west-1",
    ]
    with caplog.at_level(logging.WARNING, logger="openclaw.startup"):
        gateway(config)
    lines = [r.getMessage() for r in caplog.records if r.name == "openclaw.startup"]
    for variable, provider in (("OPENAI_API_KEY", "openai"), ("ANTHROPIC_API_KEY", "anthropic")):
        [line] = [m for m in lines if variable in m]
        assert f"api_keys.{provider}" in line and "no model uses this key" in line
    assert len(lines) == len(set(lines)), "each warning once"
