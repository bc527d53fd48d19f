"""The offline demo (``serve --replay cassettes/reference`` on the example config) as a new user
meets it: the banner lists each model's recorded prompts, every model answers them (marked
``x-openclaw-replayed``), and a prompt nobody recorded is a ``replay_not_recorded`` error that
names the recorded ones instead of a stranger's answer.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from real_server import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "openclaw_example.yaml"
LINE = re.compile(r"^  (?P<model>[\w.-]+): (?P<listed>.+)$")
ENTRY = re.compile(r'("(?:[^"\\]|\\.)*") \((JSON and streamed|streamed only|JSON only)\)')



@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, dict[str, list[tuple[str, str]]]]]:
    """The demo gateway's URL and its banner: model -> [(prompt, mode)]."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NVIDIA_", "OPENAI_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmrouter", "serve", "--config", str(CONFIG), "--port", str(port), "--replay", "cassettes/reference"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    banner: dict[str, list[tuple[str, str]]] = {}
    try:
        assert proc.stdout is not None
        while (line := proc.stdout.readline()) and "OpenClaw gateway on" not in line:
            if match := LINE.match(line.rstrip("\n")):
                banner[match["model"]] = [(json.loads(p), mode) for p, mode in ENTRY.findall(match["listed"])]
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield url, banner
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_banner_lists_a_recorded_prompt_for_every_demo_model(demo) -> None:
    from llmrouter.config import OpenClawConfig

    _, banner = demo
    models = list(OpenClawConfig.from_yaml(CONFIG).llms)
    assert sorted(banner) == sorted(models), banner
    assert all(banner[m] for m in models), {m: banner[m] for m in models if not banner[m]}
    assert ("Say this is a test", "JSON and streamed") in banner["titan-lite"]


def _ask(url: str, model: str, prompt: str, stream: bool) -> httpx.Response:
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": prompt}]}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=60)


def _text(response: httpx.Response, stream: bool) -> str:
    if not stream:
        return response.json()["choices"][0]["message"]["content"]
    chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))


def test_every_demo_model_answers_its_recorded_prompts_marked_as_replayed(demo) -> None:
    url, banner = demo
    for model, entries in banner.items():
        for prompt, mode in entries:
            for stream in {"JSON and streamed": (False, True), "streamed only": (True,), "JSON only": (False,)}[mode]:
                response = _ask(url, model, prompt, stream)
                assert response.status_code == 200, (model, prompt, stream, response.text)
                assert response.headers["x-openclaw-replayed"] == "true"
                assert _text(response, stream).startswith(f"[{model}] ") and len(_text(response, stream)) > len(model) + 4


def test_an_unrecorded_prompt_names_the_recorded_ones(demo) -> None:
    url, _ = demo
    response = _ask(url, "titan-lite", "What is 2+2?", False)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "replay_not_recorded"
    assert '"Say this is a test" (JSON and streamed)' in error["message"], error["message"]
    # A model recorded only streamed says so when asked for JSON.
    error = _ask(url, "nova-lite", "What is the capital of Japan?", False).json()["error"]
    assert error["code"] == "replay_not_recorded" and "(streamed only)" in error["message"], error
