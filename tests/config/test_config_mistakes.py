"""Config mistakes a user makes, each stopped by one precise line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrouter import cli
from llmrouter.config import ConfigError, OpenClawConfig
from llmrouter.errors import upstream_unreachable


def load_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        OpenClawConfig.from_yaml(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


BEDROCK = "    provider: bedrock\n    model: amazon.nova-lite-v1:0\n"


def test_a_model_defined_twice_is_an_error_with_both_lines(tmp_path: Path) -> None:
    text = f"llms:\n  nova:\n{BEDROCK}  other:\n{BEDROCK}  nova:\n{BEDROCK}"
    assert load_error(tmp_path, text) == "llms.nova: defined twice (lines 2 and 8); a key may appear only once"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("serve:\n  port: 1\n  port: 2\nllms: {a: {provider: bedrock, model: m}}\n", "serve.port"),
        ("llms:\n  a:\n    provider: bedrock\n    model: m\n    model: n\n", "llms.a.model"),
        ("router:\n  rules:\n    - {keywords: [x], model: a, model: a}\nllms: {a: {provider: bedrock, model: m}}\n", "router.rules.0.model"),
        ("llms: {a: {provider: bedrock, model: m}}\nllms: {b: {provider: bedrock, model: m}}\n", "llms"),
    ],
)
def test_duplicate_keys_are_errors_anywhere(tmp_path: Path, text: str, where: str) -> None:
    assert load_error(tmp_path, text).startswith(f"{where}: defined twice (lines ")


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {provider: bedrock, aws_region: us-east-1}\n", encoding="utf-8")
    # `<<:` merges are legal YAML, but `base` is not a config key: the usual unknown-key error.
    assert "base: unknown key" in load_error(tmp_path, path.read_text() + "llms:\n  a:\n    <<: *b\n    model: m\n")


@pytest.mark.parametrize(
    ("provider", "guess"), [("bedroc", "bedrock"), ("Bedrok", "bedrock"), ("nvida", "nvidia"), ("opnai", "openai"), ("aws_", "aws")]
)
def test_a_misspelled_provider_gets_a_did_you_mean(tmp_path: Path, provider: str, guess: str) -> None:
    message = load_error(tmp_path, f"llms:\n  a:\n    provider: {provider}\n    model: m\n")
    assert message.startswith(f"llms.a: provider '{provider}' is unknown; did you mean '{guess}'?"), message
    assert "needs `base_url`" in message  # and what any other name would need


def test_a_bedrock_typo_with_a_base_url_is_still_caught(tmp_path: Path) -> None:
    message = load_error(tmp_path, "llms:\n  a:\n    provider: bedrok\n    model: m\n    base_url: https://vpce-1.example\n")
    assert "did you mean 'bedrock'?" in message


def test_other_provider_names_are_openai_compatible_servers(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("llms:\n  a:\n    provider: vllm\n    model: m\n    base_url: http://127.0.0.1:8001/v1\n", encoding="utf-8")
    assert OpenClawConfig.from_yaml(path).llms["a"].provider == "vllm"
    assert "provider 'vllm' is OpenAI-compatible and needs `base_url`" in load_error(tmp_path, "llms:\n  a:\n    provider: vllm\n    model: m\n")


@pytest.mark.parametrize(
    ("region", "hint"),
    [("us-east-9", "did you mean 'us-east-2'?"), ("eu-wst-1", "did you mean 'eu-west-1'?"), ("us-moon-1", "e.g. us-east-1")],
)
def test_a_region_aws_does_not_have_is_refused(tmp_path: Path, region: str, hint: str) -> None:
    message = load_error(tmp_path, f"llms:\n  a:\n{BEDROCK}    aws_region: {region}\n")
    assert message.startswith(f"llms.a.aws_region: '{region}' is not an AWS region; {hint}"), message
    assert "botocore" in message


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "cn-north-1"])
def test_real_regions_load(tmp_path: Path, region: str) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(f"llms:\n  a:\n{BEDROCK}    aws_region: {region}\n", encoding="utf-8")
    assert OpenClawConfig.from_yaml(path).llms["a"].aws_region == region


def test_serve_stops_with_the_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(f"llms:\n  a:\n{BEDROCK}    aws_region: us-moon-1\n", encoding="utf-8")
    assert cli.main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: llms.a.aws_region: 'us-moon-1' is not an AWS region") and "\n" not in err, err


def test_an_unreachable_bedrock_endpoint_names_the_region_as_a_cause() -> None:
    message = upstream_unreachable("amazon.nova-lite-v1:0", "bedrock", "https://bedrock-runtime.us-east-1.amazonaws.com", region="us-east-1").message
    assert "region 'us-east-1'" in message and "`aws_region`" in message
    assert "`aws_region`" not in upstream_unreachable("m", "OpenAI-compatible", "http://x").message
