"""Without LiteLLM importable, Bedrock calls say how to fix it, as for boto3; and call_api
imports LiteLLM before its clock starts, so ``response_time`` is the model's, not the import's."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
import types

from llmrouter.utils import api_calling
from loopback import StubReply, converse_body

_PROBE = textwrap.dedent(
    """
    import json, logging, sys
    sys.modules["litellm"] = None  # what a user without LiteLLM has: every import of it fails
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from fastapi.testclient import TestClient
    from llmrouter.config import OpenClawConfig
    from llmrouter.utils.api_calling import call_api
    from openclaw_litellm.app import create_app

    result = call_api({"service": "bedrock", "api_name": "amazon.titan-text-lite-v1",
                       "aws_region": "us-east-1", "query": "hi"}, max_retries=0)
    config = OpenClawConfig.from_dict({"llms": {"titan": {"provider": "bedrock",
              "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1"}}})
    with TestClient(create_app(config)) as client:
        http = client.post("/v1/chat/completions", json={"model": "titan", "messages": [{"role": "user", "content": "hi"}]})
    print(json.dumps({"result": result, "status": http.status_code, "error": http.json()["error"]}))
    """
)


def test_litellm_missing_is_the_install_hint_everywhere(tmp_path):
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env={**os.environ}, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    result = out["result"]
    assert result["error_code"] == "bedrock_dependency_missing" and "pip install litellm" in result["error"]
    assert out["status"] == 503 and out["error"]["code"] == "bedrock_dependency_missing"
    assert "pip install litellm" in out["error"]["message"]
    # startup: one warning for the model, and no claim that Bedrock models are ready
    assert "model titan: cannot answer" in done.stderr and "LiteLLM" in done.stderr
    assert "Bedrock models are ready" not in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_litellm_is_not_retried():
    from llmrouter import errors

    error = errors.classify(ModuleNotFoundError("No module named 'litellm'", name="litellm"), provider="bedrock", model_id="m")
    assert error.code == "bedrock_dependency_missing" and not error.retryable


def test_call_api_loads_litellm_before_the_clock_starts(upstream, monkeypatch):
    """The import is paid before ``response_time`` starts counting: here it "takes" 100 s of a
    clock that the preload advances, which would show in a clock started before it."""
    stub = upstream(lambda req: StubReply(body=converse_body("fast answer"), headers={"content-type": "application/json"}))
    skew = [0.0]
    clock = types.SimpleNamespace(perf_counter=lambda: time.perf_counter() + skew[0])
    real = api_calling.preload_litellm

    def slow_preload() -> None:
        real()
        skew[0] += 100.0  # the import took 100 s

    monkeypatch.setattr(api_calling, "preload_litellm", slow_preload)
    monkeypatch.setattr(api_calling, "time", clock)
    result = api_calling.call_api({"service": "bedrock", "api_name": "amazon.titan-text-lite-v1", "aws_region": "us-east-1",
                                   "api_endpoint": stub.url, "query": "hi"}, max_retries=0)
    assert result["response"] == "fast answer", result
    assert skew == [100.0] and result["response_time"] < 100.0


def test_the_warm_up_does_not_say_ready_without_boto3(monkeypatch, caplog):
    from llmrouter import errors
    from openclaw_litellm import litellm_warmup

    monkeypatch.setattr(litellm_warmup, "missing_bedrock_dependency", errors.boto3_missing)
    warmup = litellm_warmup.LiteLLMWarmup()
    with caplog.at_level(logging.INFO, logger="openclaw.warmup"):
        warmup.start()
        warmup._thread.join(120)
    lines = [r.getMessage() for r in caplog.records if r.name == "openclaw.warmup"]
    assert not any("Bedrock models are ready" in line for line in lines), lines
    assert any("Bedrock models cannot answer" in line and "boto3" in line for line in lines), lines
