"""Shared by tests/training: the real routing data, a small slice of it, a trained router.

Not a conftest.py: the suite's tests do `from conftest import ...`, which must keep meaning
tests/conftest.py. Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "routing"
SCORES = DATA / "scores-train.jsonl"
LLMS = DATA / "llms.json"
SAMPLE = DATA / "queries-sample.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample_rows() -> list[dict]:
    return read_jsonl(SAMPLE)


@pytest.fixture(scope="session")
def small_scores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every 8th row of the real scores (701 rows, all 14 task families): fast to train on."""
    rows = read_jsonl(SCORES)[::8]
    return write_jsonl(tmp_path_factory.mktemp("scores") / "scores-small.jsonl", rows)


@pytest.fixture(scope="session")
def small_router(tmp_path_factory: pytest.TempPathFactory, small_scores: Path) -> Path:
    """A knn router trained on ``small_scores`` with 20% held out, through the CLI."""
    from llmrouter.cli import main

    out = tmp_path_factory.mktemp("router") / "knn"
    code = main(["train", "--scores", str(small_scores), "--llms", str(LLMS), "--out", str(out), "--holdout", "0.2", "--folds", "3"])
    assert code == 0
    return out
