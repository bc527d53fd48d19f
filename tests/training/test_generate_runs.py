"""`llmrouter generate` against loopback upstreams and Bedrock cassettes: scores, costs,
API errors kept apart from wrong answers, a budget stop, and resuming after a kill."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from routing_fixtures import SAMPLE, read_jsonl, write_jsonl

from loopback import REFERENCE, StubReply, completion_body
from llmrouter.cli import main

ROWS = read_jsonl(SAMPLE)
PICK = [r for r in ROWS if r["task_name"] in ("arc_challenge", "gsm8k", "natural_qa", "commongen")][::5]  # 8 rows, 4 metrics


def right_answer(row: dict) -> str:
    truth = row["ground_truth"]
    if row["metric"] == "GSM8K":
        return f"Step by step... The answer is {truth.split('####')[-1].strip()}."
    if row["metric"] == "em_mc":
        return f"The answer is ({truth})."
    return truth  # f1_score: the truth itself; commongen: every concept


def _user_text(received) -> str:
    return [m for m in received.json()["messages"] if m["role"] == "user"][-1]["content"]


def write_config(tmp_path: Path, url: str, models: dict[str, float], **extra: object) -> Path:
    config = tmp_path / "gw.yaml"
    llms = {name: {"provider": "vllm", "model": f"id-{name}", "base_url": url + "/v1", "input_price": price, "output_price": price, **extra} for name, price in models.items()}
    config.write_text(yaml.safe_dump({"llms": llms}))
    return config


def test_generate_scores_costs_and_errors_then_resume_retries_only_the_error(tmp_path, upstream, capsys):
    truth = {r["query"]: r for r in PICK}
    failing = PICK[2]["query"]
    failed_once: set[str] = set()

    def answer(received):
        model, text = received.json()["model"], _user_text(received)
        if model == "id-flaky" and text == failing and text not in failed_once:
            failed_once.add(text)
            return StubReply(status=500, body={"error": {"message": "upstream exploded"}})
        reply = right_answer(truth[text]) if model == "id-good" else "I have no idea."
        return StubReply(body=completion_body(reply, model))

    up = upstream(answer)
    config = write_config(tmp_path, up.url, {"good": 2.0, "bad": 0.5, "flaky": 1.0})
    queries = write_jsonl(tmp_path / "queries.jsonl", PICK)
    scores = tmp_path / "scores.jsonl"
    argv = ["generate", "--queries", str(queries), "--config", str(config), "--output", str(scores), "--max-retries", "0"]
    assert main(argv) == 1  # one API error
    err = capsys.readouterr().err
    assert "23 of 24 pairs scored, 0 skipped, 1 API errors" in err

    rows = read_jsonl(scores)
    assert [r["query"] for r in rows] == [r["query"] for r in PICK]
    assert all(r["scores"]["good"] == 1.0 and r["scores"]["bad"] == 0.0 for r in rows)
    # The failed pair has no score at all: an API error is not a wrong answer.
    assert "flaky" not in rows[2]["scores"] and all("flaky" in r["scores"] for i, r in enumerate(rows) if i != 2)
    # completion_body reports 3 prompt + 2 completion tokens: cost = tokens x USD per 1M tokens.
    assert math.isclose(rows[0]["cost"]["good"], (3 * 2.0 + 2 * 2.0) / 1e6)
    records = read_jsonl(tmp_path / "scores.runs.jsonl")
    [error] = [r for r in records if r.get("error")]
    assert error["model"] == "flaky" and error["score"] is None and "upstream exploded" in error["error"]
    assert {"prompt_tokens", "completion_tokens", "latency_s", "cost", "response"} <= set(records[0])

    before = len(up.requests)
    assert main(argv) == 0  # the rerun asks only the pair that failed, which now answers
    assert len(up.requests) == before + 1
    assert "flaky" in read_jsonl(scores)[2]["scores"]


def test_max_cost_stops_before_the_budget_is_passed(tmp_path, upstream, capsys):
    def answer(received):
        body = completion_body("42", received.json()["model"])
        body["usage"] = {"prompt_tokens": 200, "completion_tokens": 100, "total_tokens": 300}
        return StubReply(body=body)

    up = upstream(answer)
    config = write_config(tmp_path, up.url, {"pricey": 1000.0})  # $1000 per 1M tokens: $0.30 per answer
    queries = write_jsonl(tmp_path / "queries.jsonl", PICK)
    budget = 1.0
    # A call starts only if spent + its worst case ((ceil(chars / 3) + 16) prompt + 100 answer tokens) <= budget.
    spent, expected = 0.0, 0
    for row in PICK:
        if spent + (math.ceil(len(row["query"]) / 3) + 16 + 100) / 1000 > budget:
            break
        spent, expected = spent + 0.3, expected + 1
    assert 0 < expected < len(PICK)
    argv = ["generate", "--queries", str(queries), "--config", str(config), "--output", str(tmp_path / "s.jsonl"),
            "--max-tokens", "100", "--concurrency", "1", "--max-cost", str(budget)]
    assert main(argv) == 1
    assert "stopped: the next call could pass --max-cost $1" in capsys.readouterr().err
    records = read_jsonl(tmp_path / "s.runs.jsonl")
    assert len(records) == expected == len(up.requests)
    assert sum(r["cost"] for r in records) <= budget


def test_generate_on_bedrock_replays_cassettes(tmp_path, capsys):
    config = tmp_path / "bedrock.yaml"
    config.write_text(yaml.safe_dump({"llms": {"titan-lite": {
        "provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1", "input_price": 0.15, "output_price": 0.2,
    }}}))
    # Replay answers recorded prompts only: the one this model was recorded with, in two rows.
    recorded = [{"query": "Say this is a test", "ground_truth": truth, "metric": "f1_score"} for truth in ("This is a test.", "a test")]
    queries = write_jsonl(tmp_path / "queries.jsonl", recorded)
    scores = tmp_path / "scores.jsonl"
    code = main(["generate", "--queries", str(queries), "--config", str(config), "--output", str(scores), "--replay", str(REFERENCE)])
    assert code == 0, capsys.readouterr().err
    records = read_jsonl(tmp_path / "scores.runs.jsonl")
    assert len(records) == 2 and all(r["response"] and r["prompt_tokens"] > 0 and r["completion_tokens"] > 0 for r in records)
    for record in records:
        assert math.isclose(record["cost"], (record["prompt_tokens"] * 0.15 + record["completion_tokens"] * 0.2) / 1e6)
    assert [set(r["scores"]) for r in read_jsonl(scores)] == [{"titan-lite"}, {"titan-lite"}]


def test_a_killed_run_resumes_without_asking_twice(tmp_path, upstream):
    up = upstream(lambda received: StubReply(body=completion_body("A", received.json()["model"]), delay=0.15))
    config = write_config(tmp_path, up.url, {"slow": 1.0})
    rows = ROWS[:30]
    queries = write_jsonl(tmp_path / "queries.jsonl", rows)
    argv = ["generate", "--queries", str(queries), "--config", str(config), "--output", str(tmp_path / "s.jsonl"), "--concurrency", "1"]
    runs = tmp_path / "s.runs.jsonl"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen([sys.executable, "-m", "llmrouter", *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not runs.exists() or runs.read_text().count("\n") < 4):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    written = runs.read_text().count("\n")
    assert 4 <= written < 30, written
    asked_before = len(up.requests)
    assert main(argv) == 0
    records = read_jsonl(runs)
    assert len({r["key"] for r in records}) == 30 == len(records)  # every pair once: none asked twice
    assert len(up.requests) - asked_before == 30 - written
    assert len(read_jsonl(tmp_path / "s.jsonl")) == 30


def test_bad_query_file_names_the_line(tmp_path, capsys):
    config = write_config(tmp_path, "http://127.0.0.1:9", {"m": 1.0})
    queries = write_jsonl(tmp_path / "queries.jsonl", [PICK[0], {"query": "q", "ground_truth": "x", "metric": "bleu"}])
    assert main(["generate", "--queries", str(queries), "--config", str(config), "--output", str(tmp_path / "s.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {queries}, line 2: unknown or missing metric 'bleu' (known: em_mc, exact_match, f1_score, GSM8K, MATH, commongen_coverage, code_eval)"]
