"""YAML config validation: one test per rule, each checking the one-line message users see."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmrouter import provider_params
from llmrouter.config import ConfigError, OpenClawConfig


def write(tmp_path: Path, text: str, name: str = "gateway.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        OpenClawConfig.from_yaml(path)
    message = str(caught.value)
    assert "\n" not in message  # one line, printed as is by the CLI and the server
    return message


BEDROCK = """
llms:
  claude:
    provider: bedrock
    model: anthropic.claude-3-haiku-20240307-v1:0
    aws_region: us-east-1
"""


def test_a_valid_config_loads(tmp_path):
    config = OpenClawConfig.from_yaml(write(tmp_path, BEDROCK))
    llm = config.llms["claude"]
    assert (llm.model, llm.aws_region, llm.is_bedrock) == ("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1", True)
    assert config.source.endswith("gateway.yaml")


@pytest.mark.parametrize(
    ("yaml_text", "path", "guess"),
    [
        ("llms:\n  m:\n    provider: bedrock\n    model: x\n    aws_regoin: us-east-1\n", "llms.m.aws_regoin", "aws_region"),
        ("lms:\n  m: {provider: bedrock, model: x}\n", "lms", "llms"),
        ("serve:\n  prot: 8000\nllms:\n  m: {provider: bedrock, model: x}\n", "serve.prot", "port"),
    ],
    ids=["model-key", "top-level", "serve-key"],
)
def test_unknown_key_names_file_path_and_suggestion(tmp_path, yaml_text, path, guess):
    file = write(tmp_path, yaml_text)
    message = load_error(file)
    assert message.startswith(f"{file}: {path}: unknown key")
    assert f"did you mean '{guess}'?" in message


def test_bedrock_model_without_model_id(tmp_path):
    message = load_error(write(tmp_path, "llms:\n  claude:\n    provider: AWS\n    aws_region: us-east-1\n"))
    assert "llms.claude" in message and "needs `model`" in message and "amazon.nova-lite-v1:0" in message


@pytest.mark.parametrize("region", ["us-east", "US-EAST-1", "useast1", "us_east_1"])
def test_malformed_aws_region(tmp_path, region):
    message = load_error(write(tmp_path, f"llms:\n  c:\n    provider: bedrock\n    model: x\n    aws_region: {region}\n"))
    assert "llms.c.aws_region" in message and f"'{region}' is not an AWS region name" in message


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1"])
def test_real_region_names_pass(tmp_path, region):
    config = OpenClawConfig.from_yaml(write(tmp_path, f"llms:\n  c:\n    provider: bedrock\n    model: x\n    aws_region: {region}\n"))
    assert config.llms["c"].aws_region == region


def test_unknown_openai_compatible_provider_needs_base_url(tmp_path):
    message = load_error(write(tmp_path, "llms:\n  local:\n    provider: myvllm\n    model: qwen\n"))
    assert "llms.local" in message and "provider 'myvllm'" in message and "needs `base_url`" in message


def test_known_provider_gets_its_base_url(tmp_path):
    config = OpenClawConfig.from_yaml(write(tmp_path, "llms:\n  n:\n    provider: nvidia\n    model: meta/llama-3.1-8b-instruct\n"))
    assert config.llms["n"].base_url == "https://integrate.api.nvidia.com/v1"


def test_unset_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("LLMROUTER_TEST_UNSET_KEY", raising=False)
    file = write(tmp_path, "llms:\n  n:\n    provider: nvidia\n    model: m\n    api_key: ${LLMROUTER_TEST_UNSET_KEY}\n")
    message = load_error(file)
    assert str(file) in message and "llms.n.api_key" in message
    assert "environment variable LLMROUTER_TEST_UNSET_KEY is not set" in message


def test_variable_default_and_value(tmp_path, monkeypatch):
    text = "llms:\n  c:\n    provider: bedrock\n    model: x\n    aws_region: ${LLMROUTER_TEST_REGION:-eu-west-1}\n"
    monkeypatch.delenv("LLMROUTER_TEST_REGION", raising=False)
    assert OpenClawConfig.from_yaml(write(tmp_path, text)).llms["c"].aws_region == "eu-west-1"
    monkeypatch.setenv("LLMROUTER_TEST_REGION", "ca-central-1")
    assert OpenClawConfig.from_yaml(write(tmp_path, text)).llms["c"].aws_region == "ca-central-1"


def test_models_is_an_alias_of_llms(tmp_path):
    config = OpenClawConfig.from_yaml(write(tmp_path, BEDROCK.replace("llms:", "models:")))
    assert list(config.llms) == ["claude"]


@pytest.mark.parametrize("spelling", ["AWS", "Bedrock", "bedrock", "aws", "BEDROCK"])
def test_bedrock_provider_in_any_case(tmp_path, spelling):
    config = OpenClawConfig.from_yaml(write(tmp_path, BEDROCK.replace("provider: bedrock", f"provider: {spelling}")))
    llm = config.llms["claude"]
    assert llm.is_bedrock and llm.provider_label == "bedrock" and llm.base_url is None
    request = provider_params.call_request("claude", llm, config)
    assert request["service"] == "bedrock" and request["aws_region"] == "us-east-1"


def test_bad_yaml_names_file_and_line(tmp_path):
    file = write(tmp_path, "llms:\n  m:\n    provider: bedrock\n   model: x\n")
    message = load_error(file)
    assert message.startswith(f"{file}: invalid YAML (line 4,")


def test_missing_file_is_one_line(tmp_path):
    message = load_error(tmp_path / "absent.yaml")
    assert "absent.yaml: cannot read the config file" in message


def test_no_aws_region_means_the_default_chain(tmp_path):
    config = OpenClawConfig.from_yaml(write(tmp_path, "llms:\n  nova:\n    provider: bedrock\n    model: amazon.nova-lite-v1:0\n"))
    llm = config.llms["nova"]
    assert llm.aws_region is None
    assert provider_params.call_request("nova", llm, config)["aws_region"] is None


def test_no_models_at_all(tmp_path):
    message = load_error(write(tmp_path, "serve:\n  port: 8000\n"))
    assert "`llms` (or `models`) must name at least one model" in message


def test_top_level_must_be_a_mapping(tmp_path):
    message = load_error(write(tmp_path, "- just\n- a list\n"))
    assert "top level must be a mapping" in message
