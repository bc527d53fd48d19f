"""The README's quickstart, run as written: the demo server answers the curl commands.

The install part of the first command (``python3 -m venv .venv && .venv/bin/pip install``) is
what CI itself does before running the tests, so this test runs the rest of it as written,
with ``.venv/bin/`` meaning the environment the tests run in.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def _blocks(section: str) -> list[str]:
    body = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", body, flags=re.S)


def _commands(block: str) -> list[str]:
    """Shell commands of a block, with backslash continuations joined, comments dropped."""
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_quickstart_has_two_commands() -> None:
    install_and_run, run_tests = (_commands(b)[0] for b in _blocks("Quickstart")[:2])
    assert "pip install -e ." in install_and_run and "llmrouter serve" in install_and_run
    assert "pip install -e '.[dev]'" in run_tests and "pytest" in run_tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[dev]' && python -m pytest -q" in ci


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_quickstart_demo_answers_the_readme_curl_commands() -> None:
    install_and_run = _commands(_blocks("Quickstart")[0])[0]
    serve = install_and_run.split("&&")[-1].strip().replace(".venv/bin/", f"{BIN}/")
    curls = _commands(_blocks("Quickstart")[2])
    assert len(curls) == 2 and all(c.startswith("curl") for c in curls)

    # `exec`: the shell becomes the server, so the signal below reaches it (dash would fork).
    proc = subprocess.Popen(
        f"exec {serve}", shell=True, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < 30:
            try:
                if httpx.get("http://127.0.0.1:8000/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        print(f"demo /health 200 after {time.monotonic() - started:.2f} s")

        bedrock = subprocess.run(curls[0], shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert "[titan-lite] I am here and ready to assist" in bedrock.stdout, bedrock.stdout + bedrock.stderr
        assert bedrock.stdout.rstrip().endswith("data: [DONE]")
        nvidia = subprocess.run(curls[1], shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert "Hello! It's nice to meet you." in nvidia.stdout, nvidia.stdout + nvidia.stderr
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
    assert "REPLAY MODE" in output


def test_readme_routing_yaml_starts_a_gateway_for_every_strategy() -> None:
    import yaml

    from openclaw_litellm.app import create_app
    from llmrouter.config import OpenClawConfig

    example = yaml.safe_load((ROOT / "configs" / "openclaw_example.yaml").read_text(encoding="utf-8"))
    block = README.split("## Routing and fallbacks", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    strategies = []
    for line in block.strip().splitlines():
        router = yaml.safe_load(line.split("#", 1)[0])["router"]
        config = OpenClawConfig.from_dict({**example, "router": router}, source="README.md")
        create_app(config)
        strategies.append(config.router.strategy)
    assert strategies == ["first", "random", "round_robin", "rules", "llm", "cost"]


def test_readme_command_line_examples_run_as_written(tmp_path: Path) -> None:
    """Each `llmrouter infer/chat` line of the README, run from the repo root (chat fed by stdin)."""
    infer_one, infer_batch, chat = _commands(_blocks("Command line")[0])
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, shell=True, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120)

    one = run(infer_one)
    assert one.returncode == 0, one.stderr
    assert one.stdout.strip() == "Hi, how can I help you"

    output = tmp_path / "answers.jsonl"
    batch = run(infer_batch.replace("--output answers.jsonl", f"--output {output}"))
    assert batch.returncode == 0, batch.stderr
    answers = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [a["id"] for a in answers] == [1, 2]
    assert all(a["response"] == "Hi, how can I help you" for a in answers)

    talk = run(chat, stdin="Hello!\n/exit\n")
    assert talk.returncode == 0, talk.stderr
    assert "Hello! It's nice to meet you." in talk.stdout
