"""The README's "Learned routing" commands, run as written (offline) in a scratch directory.

The scratch directory links the repository's examples/, configs/ and cassettes/, so the
commands' relative paths resolve and what they write (generated-scores*.jsonl, routers/demo)
stays out of the checkout. The one change: the server listens on a free port instead of 8000
(other test runs on this machine may hold 8000), and the curl goes there.
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
from real_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _section_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = readme.split("## Learned routing", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", body, flags=re.S)


def _commands(block: str) -> list[str]:
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]



@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_generate_train_eval_route_serve(tmp_path):
    commands, curls = (_commands(b) for b in _section_blocks()[:2])
    assert [c.split()[1] for c in commands] == ["generate", "train", "eval", "route", "serve"]
    for name in ("examples", "configs", "cassettes"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(command: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        return done

    run(commands[0])
    generated = [json.loads(line) for line in (tmp_path / "generated-scores.jsonl").read_text().splitlines()]
    assert [(r["query"], set(r["scores"])) for r in generated] == [("Say this is a test", {"titan-lite"})]
    run(commands[1])
    assert (tmp_path / "routers/demo/manifest.json").is_file()
    table = run(commands[2]).stdout
    assert "1122 queries; best single model: llama-3.1-nemotron-51b-instruct" in table and "oracle" in table
    assert (tmp_path / "routers/demo/curve.png").read_bytes()[:4] == b"\x89PNG"
    routes = [json.loads(line) for line in run(commands[3]).stdout.splitlines()]
    assert routes[0] == {"query": "Who wrote the novel Moby-Dick?", "model": "llama-3.1-8b-instruct"}

    port = free_port()
    proc = subprocess.Popen(
        f"exec {commands[4]} --port {port}", shell=True, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < 60:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        [curl] = curls
        answer = run(curl.replace("127.0.0.1:8000", f"127.0.0.1:{port}")).stdout
        assert answer.strip().lower() == "x-openclaw-model: llama-3.1-8b-instruct"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
