"""The real ``llmrouter serve`` process on a loopback port.

Its upstreams are loopback servers in the test process: an OpenAI-compatible one
(``/v1/chat/completions``, JSON and SSE) and a Bedrock Runtime stub reached through the
model's ``base_url``. The config has a Bedrock model, so LiteLLM loads in the background:
``/health`` must answer before it is loaded, and the OpenAI-compatible model must not wait.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import ROOT
from loopback import StubReply, converse_body, openai_completion_body, openai_sse_parts
from real_server import free_port, llmrouter_command, stop_process, wait_for_ok

HEALTH_DEADLINE_S = 20.0
READY_DEADLINE_S = 60.0




def route(request) -> StubReply:
    if request.path.startswith("/model/"):
        return StubReply(headers={"content-type": "application/json"}, body=converse_body("bedrock stub answer"))
    assert request.path == "/v1/chat/completions", request.path
    if request.json().get("stream"):
        return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["loopback ", "says ", "hi"]))
    return StubReply(headers={"content-type": "application/json"}, body=openai_completion_body("loopback says hi"))


@pytest.fixture
def serve(tmp_path):
    """``serve(config_text, *args) -> (process, base_url, log_path)``; the process is stopped after."""
    started: list[subprocess.Popen] = []

    def start(config_text: str, *args: str) -> tuple[subprocess.Popen, str, Path]:
        config = tmp_path / "openclaw.yaml"
        config.write_text(config_text)
        port = free_port()
        log = tmp_path / "serve.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        proc = subprocess.Popen(
            [*llmrouter_command(), "serve", "--config", str(config), "--port", str(port), *args],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc, f"http://127.0.0.1:{port}", log

    yield start
    for proc in started:
        stop_process(proc)


def test_llmrouter_serve_process(serve, upstream):
    up = upstream(route)
    config = f"""
serve:
  port: 1  # overridden by --port
llms:
  local:
    provider: vllm
    model: stub-model
    base_url: {up.url}/v1
    description: an OpenAI-compatible loopback server
  titan:
    provider: AWS
    model: amazon.titan-text-lite-v1
    aws_region: us-west-2
    base_url: {up.url}
"""
    spawned = time.monotonic()
    proc, url, log = serve(config, "--prefix", "--log-level", "info")
    wait_for_ok(proc, f"{url}/health", log, deadline_s=HEALTH_DEADLINE_S, poll_s=0.02)
    health_s = time.monotonic() - spawned
    print(f"\nllmrouter serve -> first /health 200: {health_s:.2f} s")
    assert health_s < HEALTH_DEADLINE_S

    # LiteLLM is still loading in the background, and the server says so.
    warming = httpx.get(f"{url}/health/ready")
    assert warming.status_code == 503, warming.text
    assert warming.json()["status"] == "warming_up" and warming.json()["litellm_loaded"] is False

    # The OpenAI-compatible model answers meanwhile (it never waits for LiteLLM).
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-client", max_retries=0, timeout=30)
    asked = time.monotonic()
    answer = client.chat.completions.create(model="local", messages=[{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}])
    local_s = time.monotonic() - asked
    still_warming = httpx.get(f"{url}/health/ready").json()["litellm_loaded"] is False
    print(f"OpenAI-compatible answer in {local_s:.3f} s, LiteLLM still loading: {still_warming}")
    assert answer.model == "local"
    assert answer.choices[0].message.content == "[local] loopback says hi"  # --prefix
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (3, 5, 8)
    assert still_warming, "the OpenAI-compatible request waited for LiteLLM"
    sent = up.requests[-1].json()
    assert sent["model"] == "stub-model"
    assert sent["messages"] == [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}]

    chunks = list(client.chat.completions.create(model="local", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "[local] loopback says hi"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 8
    assert up.requests[-1].headers["accept"] == "text/event-stream"

    models = httpx.get(f"{url}/v1/models").json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["auto", "local", "titan"]
    assert all(m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"] for m in models["data"])
    assert {m["id"]: m["owned_by"] for m in models["data"]}["titan"] == "aws-bedrock"

    # Readiness flips once LiteLLM is loaded; then Bedrock answers (through the stub).
    deadline = time.monotonic() + READY_DEADLINE_S
    while (ready := httpx.get(f"{url}/health/ready")).status_code != 200:
        assert time.monotonic() < deadline, f"LiteLLM never loaded:\n{log.read_text()}"
        time.sleep(0.1)
    body = ready.json()
    print(f"LiteLLM loaded in the background in {body['litellm_load_seconds']:.2f} s")
    assert body["status"] == "ready" and body["litellm_loaded"] is True and body["models"] == 2
    assert body["litellm_load_seconds"] > 0

    bedrock = client.chat.completions.with_raw_response.create(model="titan", messages=[{"role": "user", "content": "hi"}])
    assert bedrock.headers["x-openclaw-model"] == "titan"
    assert bedrock.parse().choices[0].message.content == "[titan] bedrock stub answer"
    assert up.requests[-1].path == "/model/amazon.titan-text-lite-v1/converse"
    assert "/us-west-2/bedrock/aws4_request" in up.requests[-1].headers["authorization"]

    assert proc.poll() is None
    proc.terminate()
    assert proc.wait(10) is not None
    output = log.read_text()
    assert "Traceback" not in output, output
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in output


def test_llmrouter_serve_rejects_a_bad_config_with_its_path(serve):
    proc, _, log = serve("llms:\n  m:\n    provider: bedrock\n    model: amazon.nova-lite-v1:0\n    aws_region: moon-base-1\n")
    assert proc.wait(20) == 2
    output = log.read_text()
    assert "openclaw.yaml" in output and "llms.m.aws_region" in output and "moon-base-1" in output
    assert "Traceback" not in output
