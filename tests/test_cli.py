"""``llmrouter infer`` and ``llmrouter chat``, run as the real console script.

Subprocesses replay cassettes through a ``sitecustomize`` bootstrap (put on PYTHONPATH) that
starts vcrpy before the command runs, so the command itself is untouched; chat talks to a
loopback OpenAI-compatible server that records what it receives. Error paths that need no
fresh interpreter run in-process through ``llmrouter.cli.main``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REFERENCE
from loopback import StubReply, completion_body, sse_answer

from llmrouter import cli

SCRIPT = Path(sys.executable).parent / "llmrouter"
NVIDIA_KEY = "nvapi" + "-cli-test-not-a-real-key-0000"  # built: no key-shaped literal in the tree
NVIDIA_ANSWER = "Hello! It's nice to meet you. Is there something I can help you with or would you like to chat?"
HEAVY = ("litellm", "fastapi", "pydantic", "boto3", "botocore", "httpx", "uvicorn", "vcr", "yaml", "tqdm")

_BOOTSTRAP = textwrap.dedent(
    """
    # Test bootstrap: replay LLMROUTER_TEST_CASSETTE for the whole process (vcrpy patches httpx).
    import os

    _cassette = os.environ.get("LLMROUTER_TEST_CASSETTE")
    if _cassette:
        import atexit

        import vcr

        _player = vcr.VCR(match_on=["method", "scheme", "host", "port", "path", "query"], record_mode="none")
        _context = _player.use_cassette(_cassette, allow_playback_repeats=True)
        _context.__enter__()
        atexit.register(_context.__exit__, None, None, None)
    """
)


def config_text(local_url: str = "http://127.0.0.1:9") -> str:
    return textwrap.dedent(
        f"""
        llms:
          titan:
            provider: AWS
            model: amazon.titan-text-lite-v1
            aws_region: us-east-1
          nvidia:
            provider: nvidia
            model: meta/llama-3.1-8b-instruct
            api_key: {NVIDIA_KEY}
          broken:
            provider: Bedrock
            model: does-not-exist
            aws_region: us-east-1
          local:
            provider: local-stub
            model: loopback-model
            base_url: {local_url}/v1
        """
    )


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(config_text())
    return path


@pytest.fixture
def run(tmp_path):
    """``run(*argv, cassette=..., stdin=...)``: the console script in a fresh interpreter."""
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "sitecustomize.py").write_text(_BOOTSTRAP)

    def go(*argv: str, cassette: str | None = None, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("API_KEYS", "OPENAI_API_KEY", "NVIDIA_API_KEY")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(boot), env.get("PYTHONPATH")) if p)
        if cassette:
            env["LLMROUTER_TEST_CASSETTE"] = str(REFERENCE / cassette)
        return subprocess.run(
            [str(SCRIPT), *argv], input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=timeout
        )

    return go


@pytest.fixture(autouse=True)
def _restore_logging():
    """In-process runs configure logging; give the next test the state it had."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {h: list(h.filters) for h in root.handlers})
    names = ("llmrouter.bedrock", "llmrouter.openai_compat", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy")
    levels = {n: logging.getLogger(n).level for n in names}
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for handler, filters in saved[2].items():
        handler.filters[:] = filters
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


# --- --help is instant ---------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["infer", "--help"], ["chat", "--help"]], ids=" ".join)
def test_help_imports_nothing_heavy(argv):
    done = subprocess.run([sys.executable, "-X", "importtime", str(SCRIPT), *argv], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "usage: llmrouter" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "argparse" in imported  # the probe works
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_help_wall_time():
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        done = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
        timings.append(time.perf_counter() - started)
        assert done.returncode == 0
    print(f"\n`llmrouter --help` wall time: best {min(timings) * 1000:.0f} ms of {[round(t * 1000) for t in timings]} ms")
    assert min(timings) < 2.0  # LiteLLM alone takes seconds to import


def test_command_modules_import_lazily():
    code = (
        "import sys, llmrouter.cli, llmrouter.commands, llmrouter.commands.infer, llmrouter.commands.chat; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# --- infer --query -----------------------------------------------------------------------------


def test_infer_bedrock_replayed(run, config):
    done = run(
        "infer", "--config", str(config), "--query", "Say this is a test", "--max-tokens", "10", "--max-retries", "0",
        cassette="opentelemetry-python-contrib/botocore/test_converse_with_content.yaml",
    )
    assert (done.returncode, done.stdout) == (0, "Hi, how can I help you\n"), done.stderr
    assert "Traceback" not in done.stderr and "WARNING" not in done.stderr


def test_infer_nvidia_replayed_as_json(run, config):
    done = run(
        "infer", "--config", str(config), "--model", "nvidia", "--query", "Hello!", "--json",
        cassette="weave/langchain_nvidia_ai_endpoints/test_chatnvidia_quickstart.yaml",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["response"] == NVIDIA_ANSWER
    assert (result["prompt_tokens"], result["completion_tokens"], result["token_num"]) == (12, 24, 36)
    assert (result["model_name"], result["api_name"], result["query"]) == ("nvidia", "meta/llama-3.1-8b-instruct", "Hello!")
    assert NVIDIA_KEY not in done.stdout + done.stderr


def _main(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_infer_failure_is_one_catalog_line(run, config):
    done = run(
        "infer", "--config", str(config), "--model", "broken", "--query", "hi",
        cassette="opentelemetry-python-contrib/botocore/test_converse_with_invalid_model.yaml",
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: Bedrock does not recognise model 'does-not-exist' in region 'us-east-1'.")
    assert done.stderr.count("\n") == 1, done.stderr  # no traceback, no log line repeating it


def test_infer_unknown_model_name_lists_the_available_ones(config, capsys):
    code, out, err = _main(["infer", "--config", str(config), "--model", "gpt-9", "--query", "hi"], capsys)
    assert code == 2 and out == ""
    assert err == f"error: no model named 'gpt-9' in {config}; available: titan, nvidia, broken, local (pick one with --model NAME)\n"


def test_infer_invalid_config_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("llms:\n  m:\n    provider: bedrock\n    model: x\n    aws_regoin: us-east-1\n")
    code, out, err = _main(["infer", "--config", str(bad), "--query", "hi"], capsys)
    assert code == 2 and out == ""
    assert err == f"error: {bad}: llms.m.aws_regoin: unknown key; did you mean 'aws_region'?\n"


# --- infer --input (JSONL batches) -------------------------------------------------------------


def test_infer_batch_file_replayed(run, config, tmp_path):
    lines = [
        json.dumps({"id": 1, "query": "Hello!"}),
        "{not json",
        json.dumps({"id": 3, "messages": [{"role": "user", "content": "Hello!"}], "extra": {"kept": True}}),
        "",
        json.dumps({"id": 5}),
        json.dumps(["a", "list"]),
    ]
    source = tmp_path / "questions.jsonl"
    source.write_text("\n".join(lines) + "\n")
    target = tmp_path / "answers.jsonl"
    done = run(
        "infer", "--config", str(config), "--model", "nvidia", "--input", str(source), "--output", str(target),
        cassette="weave/langchain_nvidia_ai_endpoints/test_chatnvidia_quickstart.yaml",
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().endswith(f"2 ok, 3 failed; results in {target}")
    assert "Traceback" not in done.stderr and done.stdout == ""
    results = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(results) == 5
    assert [r.get("id") for r in results] == [1, None, 3, 5, None]
    assert results[0]["response"] == NVIDIA_ANSWER and "error" not in results[0]
    assert results[1]["input_line"] == 2 and "line 2: not valid JSON" in results[1]["error"]
    assert results[2]["response"] == NVIDIA_ANSWER and results[2]["extra"] == {"kept": True}
    assert results[3]["error_code"] == "invalid_request" and "`query`" in results[3]["error"]
    assert results[4]["input_line"] == 6 and "expected a JSON object" in results[4]["error"]
    assert all(r.get("model_name") == "nvidia" for r in (results[0], results[2], results[3]))


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_infer_batch_to_stdout_in_order_with_progress_bar(upstream, tmp_path, monkeypatch, capsys):
    def answer(got):
        question = got.json()["messages"][-1]["content"]
        # Earlier questions answer later: output order must still be input order.
        return StubReply(200, completion_body(f"re: {question}"), delay=0.03 * (3 - int(question[-1])))

    server = upstream(answer)
    cfg = tmp_path / "local.yaml"
    cfg.write_text(config_text(server.url))
    source = tmp_path / "q.jsonl"
    source.write_text("".join(json.dumps({"query": f"q{i}", "n": i}) + "\n" for i in range(3)))
    terminal = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = cli.main(["infer", "--config", str(cfg), "--model", "local", "--input", str(source), "--system-prompt", "Be brief."])
    out = capsys.readouterr().out
    assert code == 0
    results = [json.loads(line) for line in out.splitlines()]
    assert [(r["n"], r["response"]) for r in results] == [(0, "re: q0"), (1, "re: q1"), (2, "re: q2")]
    assert "3/3" in terminal.getvalue()  # the progress bar ran to the end
    assert terminal.getvalue().strip().endswith("3 ok, 0 failed")
    assert all(r.json()["messages"][0] == {"role": "system", "content": "Be brief."} for r in server.requests)


# --- chat ------------------------------------------------------------------------------------


def _chat_server(upstream, fail_first: bool = False):
    def handler(got):
        if fail_first and got.number == 1:
            return StubReply(400, {"error": {"message": "context too long"}})
        return StubReply(200, parts=sse_answer(f"answer number {got.number}"), headers={"content-type": "text/event-stream"})

    return upstream(handler)


def test_chat_two_turns_carry_the_conversation(run, upstream, tmp_path):
    server = _chat_server(upstream)
    cfg = tmp_path / "local.yaml"
    cfg.write_text(config_text(server.url))
    done = run(
        "chat", "--config", str(cfg), "--model", "local", "--system-prompt", "Be brief.",
        stdin="first question\nsecond question\n/exit\nnever sent\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "answer number 1\nanswer number 2\n"  # no "you> " prompt off a terminal
    assert len(server.requests) == 2
    first, second = (r.json() for r in server.requests)
    assert first["stream"] is True and second["stream"] is True
    assert first["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "first question"}]
    assert second["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "answer number 1"},
        {"role": "user", "content": "second question"},
    ]


def test_chat_failed_turn_is_forgotten_and_reset_clears(run, upstream, tmp_path):
    server = _chat_server(upstream, fail_first=True)
    cfg = tmp_path / "local.yaml"
    cfg.write_text(config_text(server.url))
    done = run("chat", "--config", str(cfg), "--model", "local", stdin="q1\nq2\n/reset\nq3\n")
    assert done.returncode == 1  # a turn failed
    assert "error: The OpenAI-compatible provider rejected the request for model 'loopback-model' (HTTP 400): context too long" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == "answer number 2\nanswer number 3\n"
    messages = [r.json()["messages"] for r in server.requests]
    assert messages[1] == [{"role": "user", "content": "q2"}]  # the failed q1 is not history
    assert messages[2] == [{"role": "user", "content": "q3"}]  # /reset forgot q2


def test_chat_bedrock_streams_the_recorded_answer(cassette, config, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Say this is a test\n"))
    with cassette("opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml"):
        code, out, err = _main(["chat", "--config", str(config), "--model", "titan", "--max-tokens", "10"], capsys)
    assert code == 0, err
    assert out == "I am here and ready to assist\n"
    assert "(answer cut at 10 tokens" in err  # the recorded stop reason is max_tokens


def test_chat_unknown_model_exits_2(config, capsys):
    code, out, err = _main(["chat", "--config", str(config), "--model", "nope"], capsys)
    assert code == 2 and err.startswith("error: no model named 'nope'")
