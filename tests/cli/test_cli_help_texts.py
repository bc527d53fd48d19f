"""``llmrouter <command> --help`` explains every option, and ``serve`` says what it does."""

from __future__ import annotations

import argparse

import pytest

from llmrouter.cli import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_option_has_help(name: str) -> None:
    command = _commands()[name]
    assert command.description, f"`llmrouter {name} --help` has no description"
    missing = [a.option_strings[0] for a in command._actions if a.option_strings and not a.help]
    assert not missing, f"llmrouter {name}: options without help: {missing}"


def test_serve_help_describes_the_gateway(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines at the terminal width
    assert "OpenAI-compatible endpoint" in out and "--replay cassettes/reference" in out
    assert "least severe log messages" in out
