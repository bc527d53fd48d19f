"""Record against loopback upstreams, stop them, replay: the same answers, no network.

Runs the real ``llmrouter serve`` process: recording patches httpx process-wide, so the
test's own HTTP client must live in another process than the recording gateway.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
from bench.upstreams.bedrock_stub import BedrockStub
from bench.upstreams.openai_stub import OpenAIStub
from real_server import free_port

PLANTED_KEY = "sk-planted-provider-key-0123456789abcdef"
PLANTED_AWS_SECRET = "planted/aws+secret/KEY0123456789abcdefghij"
PLANTED_SESSION_TOKEN = "PlantedSessionToken0123456789ABCDEFGHIJ"



@contextmanager
def gateway(config: Path, *flags: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "AWS_SECRET_ACCESS_KEY": PLANTED_AWS_SECRET,
        "AWS_SESSION_TOKEN": PLANTED_SESSION_TOKEN,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmrouter", "serve", "--config", str(config), "--port", str(port), *flags],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise AssertionError("gateway did not start: " + (proc.stdout.read() if proc.stdout else ""))
        yield url
    finally:
        proc.send_signal(signal.SIGINT)  # a clean stop writes the recordings
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        gateway.last_output = output  # type: ignore[attr-defined]


def _ask(url: str, model: str, stream: bool) -> str:
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "Say this is a test"}]}
    if not stream:
        response = httpx.post(url + "/v1/chat/completions", json=body, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["choices"][0]["message"]["content"]
    text = []
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: {"):
                chunk = orjson.loads(line[6:])
                assert "error" not in chunk, chunk
                text += [c["delta"].get("content") or "" for c in chunk["choices"]]
    return "".join(text)


def _config(tmp_path: Path, openai_url: str, bedrock_url: str) -> Path:
    path = tmp_path / "record.yaml"
    path.write_text(
        f"""
llms:
  local:
    provider: vllm
    model: stub-chat
    base_url: {openai_url}/v1
    api_key: {PLANTED_KEY}
  claude:
    provider: bedrock
    model: anthropic.claude-3-haiku-20240307-v1:0
    aws_region: us-east-1
    base_url: {bedrock_url}
""",
        encoding="utf-8",
    )
    return path


def test_record_then_replay_without_upstreams(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    openai_stub = OpenAIStub(chunks=4).start()
    bedrock_stub = BedrockStub(chunks=4).start()
    try:
        config = _config(tmp_path, openai_stub.url, bedrock_stub.url)
        with gateway(config, "--record", str(cassettes)) as url:
            recorded = {(m, s): _ask(url, m, s) for m in ("local", "claude") for s in (False, True)}
    finally:
        openai_stub.stop()
        bedrock_stub.stop()

    files = sorted(p.name for p in cassettes.iterdir())
    assert files == ["anthropic.claude-3-haiku-20240307-v1_0.yaml", "stub-chat.yaml"], files
    for text in recorded.values():
        assert "tok0 tok1 tok2 tok3" in text

    # The upstreams are gone: only the cassettes can answer now.
    with gateway(config, "--replay", str(cassettes)) as url:
        replayed = {(m, s): _ask(url, m, s) for m in ("local", "claude") for s in (False, True)}
    assert replayed == recorded
    assert "REPLAY MODE" in gateway.last_output  # type: ignore[attr-defined]


def test_recorded_cassettes_hold_no_secret(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    with OpenAIStub(chunks=2) as openai_stub, BedrockStub(chunks=2) as bedrock_stub:
        config = _config(tmp_path, openai_stub.url, bedrock_stub.url)
        with gateway(config, "--record", str(cassettes)) as url:
            _ask(url, "local", True)
            _ask(url, "claude", False)
    written = b"".join(p.read_bytes() for p in cassettes.iterdir())
    assert written, "nothing was recorded"
    for secret in (PLANTED_KEY, PLANTED_AWS_SECRET, PLANTED_SESSION_TOKEN, "AWS4-HMAC-SHA256", "X-Amz-Security-Token"):
        assert secret.encode() not in written, secret
    assert b"authorization" not in written.lower()
    output = gateway.last_output  # type: ignore[attr-defined]
    for secret in (PLANTED_KEY, PLANTED_AWS_SECRET, PLANTED_SESSION_TOKEN):
        assert secret not in output


def test_replay_without_recording_is_a_clear_error_not_a_network_call(tmp_path: Path) -> None:
    cassettes = tmp_path / "empty"
    cassettes.mkdir()
    (cassettes / "other.yaml").write_text("interactions: []\nversion: 1\n", encoding="utf-8")
    # A live upstream that must not be reached: replay never touches the network.
    with OpenAIStub(chunks=2) as live:
        config = _config(tmp_path, live.url, "http://127.0.0.1:9")
        with gateway(config, "--replay", str(cassettes)) as url:
            for model in ("local", "claude"):
                response = httpx.post(
                    url + "/v1/chat/completions",
                    json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
                    timeout=30,
                )
                assert response.status_code == 502, response.text
                error = response.json()["error"]
                assert error["code"] == "replay_not_recorded"
                assert "--record" in error["message"]
        assert live.state.requests == 0
