"""call_api and its streaming sibling against recorded upstream traffic and loopback servers.

Cassettes are real recordings (see cassettes/README.md); loopback servers stand in for
upstreams whose behaviour must be controlled (slow, failing, echoing headers).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import REFERENCE, ROOT
from loopback import StubReply, completion_body

from llmrouter import errors
from llmrouter.utils import api_calling
from llmrouter.utils.api_calling import astream_chat, call_api
from llmrouter.utils.chat_call import from_request

CONVERSE_OK = "opentelemetry-python-contrib/botocore/test_converse_with_content.yaml"
CONVERSE_STREAM_OK = "opentelemetry-python-contrib/botocore/test_converse_stream_with_content.yaml"
CONVERSE_BAD_MODEL = "opentelemetry-python-contrib/botocore/test_converse_with_invalid_model.yaml"
CONVERSE_STREAM_BAD_MODEL = "opentelemetry-python-contrib/botocore/test_converse_stream_with_invalid_model.yaml"
NOVA_GUARDRAIL_STREAM = "openllmetry/bedrock/test_nova_converse_stream.yaml"
CONVERSE_BAD_TOKEN = "openllmetry/bedrock-historical-d4c2ca62/test_titan_converse_with_caching.yaml"
NVIDIA_OK = "weave/langchain_nvidia_ai_endpoints/test_chatnvidia_quickstart.yaml"
NVIDIA_STREAM_OK = "weave/langchain_nvidia_ai_endpoints/test_chatnvidia_stream_quickstart.yaml"
OPENAI_401 = "mirascope/test_authentication_error/openai_gpt_4o_completions.yaml"

NVIDIA = "https://integrate.api.nvidia.com/v1"
NVIDIA_ANSWER = "Hello! It's nice to meet you. Is there something I can help you with or would you like to chat?"
PLANTED_KEY = "plantedKEYvalue-8c1e5f0a9d7b"


# Built at run time so no key-shaped literal sits in the tree (secret scanners stay meaningful).
FAKE_NVIDIA_KEY = "nvapi" + "-test-not-a-real-key-000000"

def bedrock(model_id: str, service: str = "bedrock", **extra: Any) -> dict[str, Any]:
    return {"service": service, "api_name": model_id, "aws_region": "us-east-1", "query": "Say this is a test", **extra}


def nvidia(**extra: Any) -> dict[str, Any]:
    return {"service": "nvidia", "api_name": "meta/llama-3.1-8b-instruct", "api_endpoint": NVIDIA, "query": "Hello!", **extra}


def streamed(request: dict[str, Any], keys: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], errors.GatewayError | None]:
    """All chunks of astream_chat for ``request``, and the error that ended it (if any)."""
    call = from_request(request, api_keys=keys, max_tokens=64, temperature=0.0, top_p=1.0, timeout=10)

    async def run() -> tuple[list[dict[str, Any]], errors.GatewayError | None]:
        chunks: list[dict[str, Any]] = []
        try:
            async for chunk in astream_chat(call):
                chunks.append(chunk)
        except errors.GatewayError as err:
            return chunks, err
        return chunks, None

    return asyncio.run(run())


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def finish_reasons(chunks: list[dict[str, Any]]) -> list[str]:
    return [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]


# --- AWS Bedrock, replayed -------------------------------------------------------------------


@pytest.mark.parametrize("service", ["AWS", "Bedrock", "bedrock", " aws "])
def test_bedrock_converse_replay_any_service_spelling(cassette, service):
    with cassette(CONVERSE_OK) as played:
        result = call_api(bedrock("amazon.titan-text-lite-v1", service), max_tokens=10, max_retries=0)
    assert "error" not in result, result.get("error")
    assert result["response"] == "Hi, how can I help you"
    assert (result["prompt_tokens"], result["completion_tokens"], result["token_num"]) == (8, 10, 18)
    assert played.play_count == 1
    assert result["service"] == service  # the request is echoed back


def test_bedrock_converse_stream_replay(cassette):
    with cassette(CONVERSE_STREAM_OK):
        chunks, err = streamed(bedrock("amazon.titan-text-lite-v1"))
    assert err is None
    assert text_of(chunks) == "I am here and ready to assist"
    assert finish_reasons(chunks) == ["length"]
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert usage[-1] == {"prompt_tokens": 8, "completion_tokens": 10, "total_tokens": 18}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


def test_bedrock_guardrail_stream_ends_with_content_filter(cassette):
    with cassette(NOVA_GUARDRAIL_STREAM):
        chunks, err = streamed(bedrock("amazon.nova-lite-v1:0"))
    assert err is None
    assert finish_reasons(chunks)[-1] == "content_filter"
    assert "capital of Japan" in text_of(chunks)


def test_bedrock_invalid_model_400_gives_the_catalog_message(cassette):
    with cassette(CONVERSE_BAD_MODEL):
        result = call_api(bedrock("does-not-exist"), max_retries=3)
    assert result["error_code"] == "bedrock_model_id_invalid"
    message = result["error"]
    assert "'does-not-exist'" in message and "'us-east-1'" in message
    assert "list-foundation-models --region us-east-1" in message
    assert "aws_region" in message  # how to fix it: the YAML key to set
    assert result["response"] == f"ERROR: {message}"
    assert result["token_num"] == 0


def test_bedrock_stream_invalid_model_400_gives_the_catalog_error(cassette):
    with cassette(CONVERSE_STREAM_BAD_MODEL):
        chunks, err = streamed(bedrock("does-not-exist"))
    assert chunks == []
    assert err is not None and err.code == "bedrock_model_id_invalid" and err.status == 400
    assert "'does-not-exist' in region 'us-east-1'" in err.message
    assert err.to_dict()["error"]["type"] == "invalid_request_error"


def test_bedrock_bad_token_403_gives_the_credentials_message(cassette):
    with cassette(CONVERSE_BAD_TOKEN):
        result = call_api(bedrock("amazon.titan-text-express-v1", "Bedrock"), max_retries=3)
    assert result["error_code"] == "aws_credentials_invalid"
    message = result["error"]
    assert "'amazon.titan-text-express-v1' in region 'us-east-1'" in message
    assert "invalid or expired" in message
    assert "The security token included in the request is invalid" in message  # AWS's own words
    assert "aws sts get-caller-identity" in message
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in json.dumps(result)


# --- OpenAI-compatible, replayed -------------------------------------------------------------


def test_nvidia_completion_replay(cassette):
    with cassette(NVIDIA_OK) as played:
        result = call_api(nvidia(id=7), api_keys_env=[FAKE_NVIDIA_KEY], max_retries=0)
    assert "error" not in result, result.get("error")
    assert result["response"] == NVIDIA_ANSWER
    assert (result["prompt_tokens"], result["completion_tokens"], result["token_num"]) == (12, 24, 36)
    assert result["id"] == 7
    assert played.play_count == 1


def test_nvidia_stream_replay(cassette):
    with cassette(NVIDIA_STREAM_OK):
        chunks, err = streamed(nvidia(), keys=(FAKE_NVIDIA_KEY,))
    assert err is None
    assert text_of(chunks) == NVIDIA_ANSWER
    assert finish_reasons(chunks) == ["stop"]
    assert chunks[-1]["usage"] == {"prompt_tokens": 12, "total_tokens": 36, "completion_tokens": 24}


def test_openai_401_gives_the_invalid_api_key_message(cassette):
    request = {"service": "openai", "api_name": "gpt-4o", "api_endpoint": "https://api.openai.com/v1", "query": "hi"}
    with cassette(OPENAI_401) as played:
        result = call_api(request, api_keys_env=[PLANTED_KEY], max_retries=3)
    assert result["error_code"] == "invalid_api_key"
    assert "rejected the API key used for model 'gpt-4o'" in result["error"]
    assert "Incorrect API key provided" in result["error"]  # OpenAI's own words, passed on
    assert "api_key_env" in result["error"]  # how to fix it
    assert played.play_count == 1  # a 401 is not retried
    assert PLANTED_KEY not in json.dumps(result)


# --- boto3 missing ---------------------------------------------------------------------------

_NO_BOTO = {"boto3", "botocore", "s3transfer"}

_PROBE = textwrap.dedent(
    """
    import importlib.util, json, sys
    {block}
    from llmrouter.utils.api_calling import call_api
    result = call_api({{"service": "bedrock", "api_name": "amazon.titan-text-lite-v1",
                        "aws_region": "us-east-1", "query": "hi"}}, max_retries=0)
    try:
        import boto3
        importable = True
    except ImportError:
        importable = False
    print(json.dumps({{"result": result, "spec": importlib.util.find_spec("boto3") is not None,
                       "importable": importable, "litellm": "litellm" in sys.modules}}))
    """
)


def _site_without_boto(tmp_path: Path) -> Path:
    """A copy (by symlinks) of this environment's site-packages with boto3 & co left out."""
    site = tmp_path / "site"
    site.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        stem = entry.name.split("-")[0].split(".")[0].lower()
        if stem not in _NO_BOTO and not entry.name.endswith(".pth"):
            (site / entry.name).symlink_to(entry)
    return site


@pytest.mark.parametrize("how", ["uninstalled", "sys_modules_none"])
def test_boto3_missing_gives_the_install_hint(tmp_path, how):
    env = {**os.environ}
    if how == "uninstalled":
        # What a user without boto3 has: no site-packages entry for it at all (-S: no site).
        cmd = [sys.executable, "-S", "-c", _PROBE.format(block="")]
        env["PYTHONPATH"] = os.pathsep.join([str(_site_without_boto(tmp_path)), str(ROOT)])
    else:
        block = "for name in ('boto3', 'botocore'): sys.modules[name] = None"
        cmd = [sys.executable, "-c", _PROBE.format(block=block)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert (out["spec"], out["importable"]) == (False, False), "the simulation must hide boto3"
    result = out["result"]
    assert result["error_code"] == "bedrock_dependency_missing"
    assert "pip install 'llmrouter[bedrock]'" in result["error"]
    assert "Traceback" not in done.stderr
    assert out["litellm"] is False  # reported before paying for the LiteLLM import


# --- timeouts --------------------------------------------------------------------------------


def test_timeout_openai_compatible(upstream):
    server = upstream(lambda got: StubReply(200, completion_body("too late"), delay=3))
    result = call_api({"api_name": "slow-model", "api_endpoint": f"{server.url}/v1", "query": "hi"}, timeout=0.5, max_retries=0)
    assert result["error_code"] == "upstream_timeout"
    assert "timed out after 0.5 s" in result["error"] and "'slow-model'" in result["error"]
    assert server.completed == 0  # it gave up before the answer due at 3 s (no wall clock needed)
    assert len(server.requests) == 1


def test_timeout_bedrock_through_endpoint_override(upstream):
    from llmrouter.utils.litellm_setup import load_litellm

    load_litellm()  # the import is not what is being timed
    server = upstream(lambda got: StubReply(200, {}, delay=3))
    result = call_api(bedrock("amazon.titan-text-lite-v1", api_endpoint=server.url), timeout=0.5, max_retries=0)
    assert result["error_code"] == "upstream_timeout"
    assert "'amazon.titan-text-lite-v1' in region 'us-east-1'" in result["error"]
    assert "timed out after 0.5 s" in result["error"]
    assert server.completed == 0  # it gave up before the answer due at 3 s
    assert [r.path for r in server.requests] == ["/model/amazon.titan-text-lite-v1/converse"]


# --- the region reaches the request URL ------------------------------------------------------

_CONVERSE_BODY = json.dumps(
    {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
    }
).encode()


@pytest.fixture
def bedrock_urls(monkeypatch) -> list[str]:
    """Every URL LiteLLM's httpx client sends to; each gets a minimal Converse 200."""
    seen: list[str] = []

    async def transport(self, request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, headers={"content-type": "application/json"}, content=_CONVERSE_BODY, request=request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", transport)
    return seen


ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"


@pytest.mark.parametrize(
    ("model_id", "region", "url"),
    [
        ("amazon.titan-text-lite-v1", "eu-west-3", "https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.titan-text-lite-v1/converse"),
        (
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "us-west-2",
            "https://bedrock-runtime.us-west-2.amazonaws.com/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
        ),
        (
            ARN,
            "us-east-1",
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-haiku-20241022-v1%3A0"
            "/converse",
        ),
    ],
    ids=["region", "cross-region-profile", "arn"],
)
def test_region_and_model_id_reach_the_url(bedrock_urls, model_id, region, url):
    result = call_api({"service": "bedrock", "api_name": model_id, "aws_region": region, "query": "hi"}, max_retries=0)
    assert "error" not in result, result.get("error")
    assert bedrock_urls == [url]


def test_region_from_the_environment_when_not_configured(bedrock_urls, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    result = call_api({"service": "aws", "api_name": "amazon.titan-text-lite-v1", "aws_region": None, "query": "hi"}, max_retries=0)
    assert "error" not in result, result.get("error")
    assert bedrock_urls == ["https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/amazon.titan-text-lite-v1/converse"]


def test_no_region_anywhere_is_the_catalog_error(bedrock_urls, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    result = call_api({"service": "bedrock", "api_name": "amazon.titan-text-lite-v1", "query": "hi"}, max_retries=3)
    assert result["error_code"] == "aws_region_missing"
    assert "'amazon.titan-text-lite-v1'" in result["error"] and "aws_region" in result["error"]
    assert "AWS_REGION" in result["error"]
    assert bedrock_urls == []  # nothing was sent


# --- batches ---------------------------------------------------------------------------------


def _merged_cassette(tmp_path: Path, *relatives: str) -> Path:
    """One cassette holding the recorded interactions of several (bodies untouched)."""
    interactions = []
    for relative in relatives:
        interactions += yaml.safe_load((REFERENCE / relative).read_text())["interactions"]
    path = tmp_path / "merged.yaml"
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
    return path


def test_batch_mixes_providers_keeps_order_and_isolates_failures(cassette, tmp_path):
    merged = _merged_cassette(tmp_path, CONVERSE_OK, CONVERSE_BAD_MODEL, NVIDIA_OK)
    batch = [
        bedrock("amazon.titan-text-lite-v1", row=0, tag={"kept": True}),
        {**bedrock("amazon.titan-text-lite-v1", row=1), "query": None},  # no question
        bedrock("does-not-exist", row=2),
        nvidia(row=3),
    ]
    with cassette(merged):
        results = call_api(batch, api_keys_env=[FAKE_NVIDIA_KEY], max_tokens=10, max_retries=0)
    assert [r["row"] for r in results] == [0, 1, 2, 3]
    assert results[0]["response"] == "Hi, how can I help you" and "error" not in results[0]
    assert results[0]["tag"] == {"kept": True}
    assert results[1]["error_code"] == "invalid_request" and "`query`" in results[1]["error"]
    assert results[2]["error_code"] == "bedrock_model_id_invalid"
    assert results[3]["response"] == NVIDIA_ANSWER and "error" not in results[3]


def test_batch_order_is_input_order_not_finish_order(upstream):
    # The first requests answer last.
    server = upstream(lambda got: StubReply(200, completion_body(f"answer {got.json()['messages'][-1]['content']}"), delay=0.05 * (5 - int(got.json()["messages"][-1]["content"]))))
    batch = [{"api_name": "m", "api_endpoint": server.url, "query": str(i), "row": i} for i in range(5)]
    results = call_api(batch, max_retries=0)
    assert [r["row"] for r in results] == list(range(5))
    assert [r["response"] for r in results] == [f"answer {i}" for i in range(5)]


# --- retries ---------------------------------------------------------------------------------


@pytest.fixture
def fast_backoff(monkeypatch):
    from llmrouter.utils import retrying

    monkeypatch.setattr(retrying, "BACKOFF_BASE", 0.01)


def _fail_then_succeed(status: int, failures: int):
    def handler(got):
        if got.number <= failures:
            return StubReply(status, {"error": {"message": f"try again ({got.number})"}}, headers={"retry-after": "0"} if status == 429 else {})
        return StubReply(200, completion_body("finally"))

    return handler


@pytest.mark.parametrize("status", [503, 429])
def test_retryable_failures_are_retried(upstream, fast_backoff, status):
    server = upstream(_fail_then_succeed(status, 2))
    result = call_api({"api_name": "m", "api_endpoint": server.url, "query": "hi"}, max_retries=3)
    assert result.get("error") is None
    assert result["response"] == "finally"
    assert len(server.requests) == 3


def test_max_retries_is_a_limit(upstream, fast_backoff):
    server = upstream(_fail_then_succeed(503, 5))
    result = call_api({"api_name": "m", "api_endpoint": server.url, "query": "hi"}, max_retries=1)
    assert result["error_code"] == "upstream_error" and "HTTP 503" in result["error"]
    assert len(server.requests) == 2  # the call and one retry


@pytest.mark.parametrize(("status", "code"), [(400, "upstream_bad_request"), (401, "invalid_api_key"), (403, "invalid_api_key")])
def test_client_errors_are_not_retried(upstream, fast_backoff, status, code):
    server = upstream(_fail_then_succeed(status, 5))
    result = call_api({"api_name": "m", "api_endpoint": server.url, "query": "hi"}, max_retries=3)
    assert result["error_code"] == code
    assert len(server.requests) == 1


# --- secrets ---------------------------------------------------------------------------------


def _echo_authorization(raw: bool):
    def handler(got):
        value = got.headers.get("authorization", "")
        shown = value.split(" ", 1)[-1] if raw else value
        return StubReply(401, {"error": {"message": f"invalid credentials: {shown}", "type": "invalid_request_error"}})

    return handler


@pytest.mark.parametrize("planted", ["api_keys_env", "request"])
def test_echoed_authorization_header_never_reaches_the_result(upstream, planted):
    server = upstream(_echo_authorization(raw=False))
    request = {"api_name": "m", "api_endpoint": server.url, "query": "hi"}
    keys = None
    if planted == "request":
        request["api_key"] = PLANTED_KEY
    else:
        keys = [PLANTED_KEY]
    result = call_api(request, api_keys_env=keys, max_retries=0)
    assert server.requests[0].headers["authorization"] == f"Bearer {PLANTED_KEY}"  # it was sent
    assert result["error_code"] == "invalid_api_key"
    assert "invalid credentials: Bearer ***" in result["error"]  # the upstream's words, masked
    assert PLANTED_KEY not in result["error"] and PLANTED_KEY not in result["response"]
    if planted == "api_keys_env":
        assert PLANTED_KEY not in json.dumps(result)


def test_echoed_bare_key_never_reaches_the_result(upstream):
    server = upstream(_echo_authorization(raw=True))
    result = call_api({"api_name": "m", "api_endpoint": server.url, "query": "hi"}, api_keys_env=[PLANTED_KEY], max_retries=0)
    assert result["error_code"] == "invalid_api_key"
    assert PLANTED_KEY not in json.dumps(result)
