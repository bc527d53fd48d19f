"""Every commented-out setting in a shipped config loads once uncommented, one block at a time.

A commented example is a run of consecutive lines ``<indent># key: value`` (prose comments
never start with ``key:``); uncommenting removes the ``# `` after the indent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmrouter.config import OpenClawConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
COMMENTED_SETTING = re.compile(r"^(?P<indent>\s*)# (?P<body>\s*[A-Za-z_][\w.-]*:(\s.*)?)$")


def commented_blocks(lines: list[str]) -> list[list[int]]:
    """Line numbers of each run of consecutive commented-out settings."""
    blocks: list[list[int]] = []
    for i, line in enumerate(lines):
        if COMMENTED_SETTING.match(line):
            if blocks and blocks[-1][-1] == i - 1:
                blocks[-1].append(i)
            else:
                blocks.append([i])
    return blocks


def uncomment(lines: list[str], block: list[int]) -> str:
    out = list(lines)
    for i in block:
        match = COMMENTED_SETTING.match(lines[i])
        assert match
        out[i] = match["indent"] + match["body"]
    return "\n".join(out) + "\n"


@pytest.fixture(autouse=True)
def variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the examples read, set as a user following them would."""
    for name in ("OPENCLAW_GATEWAY_KEY", "OPENAI_API_KEY", "OPENAI_API_KEY_2", "NVIDIA_API_KEY"):
        monkeypatch.setenv(name, f"test-value-of-{name.lower()}")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_commented_example_loads_when_uncommented(path: Path, tmp_path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = commented_blocks(lines)  # may be none (configs/trained_example.yaml has no options to show)
    OpenClawConfig.from_yaml(path)
    for block in blocks:
        edited = tmp_path / path.name
        edited.write_text(uncomment(lines, block), encoding="utf-8")
        shown = " / ".join(lines[i].strip() for i in block)[:120]
        config = OpenClawConfig.from_yaml(edited)  # a ConfigError here names the example that broke
        assert config.llms, shown


def test_the_gateway_key_example_requires_that_key(tmp_path: Path) -> None:
    lines = (ROOT / "configs" / "openclaw_example.yaml").read_text(encoding="utf-8").splitlines()
    assert len(commented_blocks(lines)) >= 3, "the example config's commented examples are no longer found"
    block = next(b for b in commented_blocks(lines) if "api_keys: [" in lines[b[0]])
    edited = tmp_path / "gateway_key.yaml"
    edited.write_text(uncomment(lines, block), encoding="utf-8")
    assert OpenClawConfig.from_yaml(edited).serve.api_keys == ["test-value-of-openclaw_gateway_key"]


def test_every_example_model_has_prices_and_a_description() -> None:
    config = OpenClawConfig.from_yaml(ROOT / "configs" / "openclaw_example.yaml")
    for name, llm in config.llms.items():
        assert llm.input_price is not None and llm.output_price is not None, name
        assert llm.description, name


def test_the_example_documents_every_aws_credential_source() -> None:
    text = (ROOT / "configs" / "openclaw_example.yaml").read_text(encoding="utf-8")
    for source in ("AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "aws_profile", "aws sso login", "role_arn", "instance profile"):
        assert source in text, source
