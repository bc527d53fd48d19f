"""Bad routing data or a bad router directory: one `error:` line naming the file (and line)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llmrouter.cli import main

from routing_fixtures import LLMS, small_router, small_scores, write_jsonl  # noqa: F401 - fixtures

GOOD = {"query": "What is 2 + 2?", "scores": {"gemma-2-9b-it": 1.0, "qwen2.5-7b-instruct": 0.0}}


def _train(scores: Path, out: Path) -> int:
    return main(["train", "--scores", str(scores), "--llms", str(LLMS), "--out", str(out)])


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ({"scores": {"gemma-2-9b-it": 1.0}}, "missing field 'query'"),
        ({"query": "q"}, "missing field 'scores'"),
        ({"query": "q", "scores": {"gpt-17": 1.0}}, "unknown model 'gpt-17'"),
        ({"query": "q", "scores": {"gemma-2-9b-it": 1.5}}, "scores.gemma-2-9b-it must be a number in [0, 1], got 1.5"),
        ({"query": "q", "scores": {"gemma-2-9b-it": -0.1}}, "got -0.1"),
        ({"query": "q", "scores": {"gemma-2-9b-it": "1"}}, "got '1'"),
        ({"query": "q", "scores": {"gemma-2-9b-it": 1.0}, "cost": {"gemma-2-9b-it": -1}}, "cost.gemma-2-9b-it must be a number >= 0"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_row_names_file_and_line(tmp_path, capsys, bad_line, problem):
    scores = write_jsonl(tmp_path / "scores.jsonl", [GOOD, GOOD, bad_line, GOOD])
    assert _train(scores, tmp_path / "router") == 2
    line = _one_error_line(capsys)
    assert f"{scores}, line 3: " in line and problem in line
    assert not (tmp_path / "router").exists()


def test_nan_score_and_broken_json(tmp_path, capsys):
    scores = tmp_path / "scores.jsonl"
    scores.write_text(json.dumps(GOOD) + "\n" + '{"query": "q", "scores": {"gemma-2-9b-it": NaN}}\n', encoding="utf-8")
    assert _train(scores, tmp_path / "r") == 2
    assert f"{scores}, line 2: scores.gemma-2-9b-it must be a number in [0, 1], got nan" in _one_error_line(capsys)
    scores.write_text(json.dumps(GOOD) + "\n\n" + '{"query": "q", "scores": {\n', encoding="utf-8")
    assert _train(scores, tmp_path / "r") == 2
    assert f"{scores}, line 3: not valid JSON" in _one_error_line(capsys)


def test_empty_file_and_missing_file(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n \n", encoding="utf-8")
    assert _train(empty, tmp_path / "r") == 2
    assert f"{empty}: no rows" in _one_error_line(capsys)
    assert _train(tmp_path / "nope.jsonl", tmp_path / "r") == 2
    assert "nope.jsonl: cannot read (No such file or directory)" in _one_error_line(capsys)


def test_bad_price_list(tmp_path, capsys):
    llms = tmp_path / "llms.json"
    llms.write_text(json.dumps({"a": {"input_price": 1, "output_price": "cheap"}}), encoding="utf-8")
    scores = write_jsonl(tmp_path / "scores.jsonl", [GOOD])
    assert main(["train", "--scores", str(scores), "--llms", str(llms), "--out", str(tmp_path / "r")]) == 2
    assert f"{llms}: 'a'.output_price must be a number >= 0" in _one_error_line(capsys)


def test_route_input_without_query(tmp_path, capsys, small_router):
    queries = write_jsonl(tmp_path / "q.jsonl", [{"query": "hi"}, {"question": "hi"}])
    assert main(["route", "--router", str(small_router), "--input", str(queries)]) == 2
    assert f"{queries}, line 2: missing field 'query'" in _one_error_line(capsys)


def _copy(router: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "router"
    shutil.copytree(router, copy)
    return copy


def test_truncated_router_directory(tmp_path, capsys, small_router):
    router = _copy(small_router, tmp_path)
    data = router / "knn_data.npy"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    queries = write_jsonl(tmp_path / "q.jsonl", [{"query": "hi"}])
    assert main(["route", "--router", str(router), "--input", str(queries)]) == 2
    assert f"{data}: truncated or modified since training" in _one_error_line(capsys)
    data.unlink()
    assert main(["route", "--router", str(router), "--input", str(queries)]) == 2
    assert f"{data}: missing" in _one_error_line(capsys)
    (router / "manifest.json").write_text('{"format": "llmrouter.trained-router", "format_ver', encoding="utf-8")
    assert main(["route", "--router", str(router), "--input", str(queries)]) == 2
    assert f"{router / 'manifest.json'}: corrupt" in _one_error_line(capsys)
    assert main(["route", "--router", str(tmp_path / "none"), "--input", str(queries)]) == 2
    assert "none: no such router directory" in _one_error_line(capsys)


def test_featurizer_version_mismatch(tmp_path, capsys, small_router):
    router = _copy(small_router, tmp_path)
    manifest = json.loads((router / "manifest.json").read_text())
    manifest["featurizer"]["version"] = 99
    (router / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    queries = write_jsonl(tmp_path / "q.jsonl", [{"query": "hi"}])
    assert main(["eval", "--router", str(router), "--scores", str(queries)]) == 2
    line = _one_error_line(capsys)
    assert f"{router / 'manifest.json'}: featurizer tfidf-words-1-2 version 99" in line and "retrain" in line


def test_bad_flags_are_one_line(tmp_path, capsys, small_router):
    scores = write_jsonl(tmp_path / "scores.jsonl", [GOOD])
    assert main(["train", "--scores", str(scores), "--llms", str(LLMS), "--out", str(tmp_path / "r"), "--k", "0", "--folds", "1"]) == 2
    assert _one_error_line(capsys) == "error: --k must be >= 1; --folds must be 0 (none) or >= 2"
    queries = write_jsonl(tmp_path / "q.jsonl", [{"query": "hi"}])
    assert main(["route", "--router", str(small_router), "--input", str(queries), "--cost-weight", "-1"]) == 2
    assert _one_error_line(capsys) == "error: --cost-weight must be >= 0 (0 = quality only), got -1"


def test_a_price_list_that_is_not_utf8_names_the_file(tmp_path, capsys):
    llms = tmp_path / "llms.json"
    llms.write_bytes(b"\xff\xfe{}")
    scores = write_jsonl(tmp_path / "scores.jsonl", [GOOD])
    assert main(["train", "--scores", str(scores), "--llms", str(llms), "--out", str(tmp_path / "r")]) == 2
    assert f"{llms}: not UTF-8 text" in _one_error_line(capsys)
