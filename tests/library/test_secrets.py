"""No planted credential ever leaves the gateway: not in a log line (at DEBUG, from any
library), an error body, a response header, a WebSocket frame, /metrics, or a cassette.

Four secrets are planted, each reaching the place where it could leak:

- a provider API key, sent upstream as ``Authorization: Bearer`` and echoed back by a
  "leaky" upstream in its 401 body;
- the AWS secret key and a session token, used to sign Bedrock requests (botocore logs the
  canonical request, which holds the session token, at DEBUG) and echoed back by a Bedrock
  stub in its error;
- a gateway API key, which clients send (Bearer and ``x-api-key``, over HTTP and WebSocket,
  where the WebSocket library logs request headers at DEBUG).

The real ``llmrouter serve --log-level debug --record DIR`` process is checked (its whole
stderr and the cassettes it wrote), and the in-process app under ``caplog`` at DEBUG.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess

import httpx

from conftest import ROOT, sse_events
from loopback import StubReply, converse_body, openai_completion_body, openai_sse_parts, recorded_converse_stream_frames
from real_server import free_port, llmrouter_command, stop_process, wait_for_ok

PROVIDER_KEY = "prov-planted-3f9a1c7e5b2d8a"
AWS_SECRET = "awssecret-planted-9b8c7d6e5f4a3b2c1d0e"
SESSION_TOKEN = "sessiontoken-planted-1a2b3c4d5e6f7a8b9c0d"
GATEWAY_KEY = "gw-planted-key-8e7d6c5b4a39f1"
PLANTED = {"provider key": PROVIDER_KEY, "AWS secret": AWS_SECRET, "session token": SESSION_TOKEN, "gateway key": GATEWAY_KEY}
HELLO = [{"role": "user", "content": "hello"}]


def route(request) -> StubReply:
    """OpenAI-compatible and Bedrock answers; the ``leaky``/``echo`` ones repeat the credentials."""
    if request.path.startswith("/model/"):
        model = request.path.split("/")[2]
        if model == "bedrock-echo":  # an error that repeats the signing material it received
            token = request.headers.get("x-amz-security-token", "")
            body = json.dumps({"message": f"The security token included in the request is invalid: {token} ({request.headers.get('authorization', '')})"})
            return StubReply(status=403, headers={"content-type": "application/json", "x-amzn-ErrorType": "UnrecognizedClientException:"}, body=body.encode())
        if request.path.endswith("/converse-stream"):
            return StubReply(headers={"content-type": "application/vnd.amazon.eventstream"}, parts=recorded_converse_stream_frames())
        return StubReply(headers={"content-type": "application/json"}, body=converse_body("bedrock says hi"))
    body = request.json()
    if body["model"] == "leaky":
        auth = request.headers.get("authorization", "")
        echo = json.dumps({"error": {"message": f"Invalid header 'Authorization: {auth}'; the key {auth.removeprefix('Bearer ')} is unknown"}})
        return StubReply(status=401, headers={"content-type": "application/json"}, body=echo.encode())
    if body.get("stream"):
        return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["hi ", "there"]))
    return StubReply(headers={"content-type": "application/json"}, body=openai_completion_body("hi there"))


def config_yaml(upstream_url: str) -> str:
    return f"""
serve:
  api_keys: ["${{PLANTED_GATEWAY_KEY}}"]
  timeout: 5
llms:
  ok:
    provider: vllm
    model: ok
    base_url: {upstream_url}/v1
    api_key: ${{PLANTED_PROVIDER_KEY}}
  leaky:
    provider: vllm
    model: leaky
    base_url: {upstream_url}/v1
    api_key: ${{PLANTED_PROVIDER_KEY}}
  titan:
    provider: bedrock
    model: amazon.titan-text-lite-v1
    aws_region: us-east-1
    base_url: {upstream_url}
  bedrock-echo:
    provider: bedrock
    model: bedrock-echo
    aws_region: us-east-1
    base_url: {upstream_url}
"""


def planted_env() -> dict[str, str]:
    return {
        "PLANTED_PROVIDER_KEY": PROVIDER_KEY,
        "PLANTED_GATEWAY_KEY": GATEWAY_KEY,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
    }


def leaks(text: str) -> list[str]:
    return [name for name, value in PLANTED.items() if value in text]


def exercise(base: str) -> list[str]:
    """Every kind of request that touches a secret; returns what each response showed the client."""
    ok = {"authorization": f"Bearer {GATEWAY_KEY}"}
    seen: list[str] = []

    def record(response: httpx.Response) -> httpx.Response:
        seen.append(f"{response.status_code} {dict(response.headers)} {response.text}")
        return response

    with httpx.Client(base_url=base, timeout=30) as client:
        assert record(client.get("/v1/models", headers=ok)).status_code == 200
        assert record(client.get("/v1/models", headers={"x-api-key": GATEWAY_KEY})).status_code == 200
        assert record(client.get("/v1/models", headers={"authorization": "Bearer not-the-key-123456"})).status_code == 401
        assert record(client.get("/metrics", headers=ok)).status_code == 200  # checked again below, after traffic
        # A client error that echoes client input: a model named like the gateway key.
        assert record(client.post("/v1/chat/completions", headers=ok, json={"model": GATEWAY_KEY, "messages": HELLO})).status_code == 404
        for stream in (False, True):
            chat = {"messages": HELLO, "stream": stream}
            assert record(client.post("/v1/chat/completions", headers=ok, json={"model": "ok", **chat})).status_code == 200
            assert record(client.post("/v1/chat/completions", headers=ok, json={"model": "leaky", **chat})).status_code == 401
            assert record(client.post("/v1/chat/completions", headers=ok, json={"model": "titan", **chat})).status_code == 200
            assert record(client.post("/v1/chat/completions", headers=ok, json={"model": "bedrock-echo", **chat})).status_code == 401
    from websockets.sync.client import connect

    with connect(f"{base.replace('http', 'ws', 1)}/v1/chat/ws", additional_headers={"x-api-key": GATEWAY_KEY}) as ws:
        for model in ("ok", "leaky", "bedrock-echo"):
            ws.send(json.dumps({"model": model, "messages": HELLO}))
            while (frame := ws.recv(timeout=30)) != "data: [DONE]\n\n":
                seen.append(str(frame))
    with httpx.Client(base_url=base, timeout=30) as client:  # the metrics after all of that traffic
        scraped = record(client.get("/metrics", headers=ok))
        assert scraped.status_code == 200 and 'llmrouter_requests_total{model="ok",status="200"}' in scraped.text
    assert any("bedrock says hi" in s for s in seen) and any('"invalid_api_key"' in s for s in seen)
    return seen


def test_no_secret_in_the_serve_process_logs_responses_or_cassettes(upstream_factory, tmp_path):
    up = upstream_factory(route)
    config = tmp_path / "planted.yaml"
    config.write_text(config_yaml(up.url))
    cassettes = tmp_path / "recorded"
    log = tmp_path / "serve.log"
    port = free_port()
    env = {**os.environ, **planted_env(), "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    command = llmrouter_command()
    proc = subprocess.Popen(
        [*command, "serve", "--config", str(config), "--port", str(port), "--log-level", "debug", "--record", str(cassettes)],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ok(proc, f"{url}/health/ready", log, deadline_s=90.0)
        seen = exercise(url)
    finally:
        stop_process(proc, grace_s=15)

    # The secrets did travel where they could leak from...
    assert any(r.headers.get("authorization") == f"Bearer {PROVIDER_KEY}" for r in up.requests)
    assert any(r.headers.get("x-amz-security-token") == SESSION_TOKEN for r in up.requests)
    output = log.read_text(errors="replace")
    assert "DEBUG" in output and "x-amz-security-token" in output.lower(), "the debug log did not show the signing step"
    # ...and went nowhere else.
    assert not leaks(output), f"log leaks {leaks(output)}"
    for shown in seen:
        assert not leaks(shown), f"a response leaks {leaks(shown)}: {shown[:300]}"
    files = sorted(cassettes.rglob("*"))
    assert any(f.suffix == ".yaml" for f in files), "nothing was recorded"
    for file in files:
        if file.is_file():
            assert not leaks(file.read_text(errors="replace")), f"{file.name} leaks {leaks(file.read_text(errors='replace'))}"



def test_no_secret_in_the_in_process_gateway_logs(gateway_factory, upstream_factory, monkeypatch, caplog):
    for name, value in planted_env().items():
        monkeypatch.setenv(name, value)
    from llmrouter.config import OpenClawConfig

    up = upstream_factory(route)
    config = OpenClawConfig.from_dict(__import__("yaml").safe_load(config_yaml(up.url)))
    gw = gateway_factory(config, prefix=False)
    caplog.set_level(logging.DEBUG)
    seen = exercise(gw.url)
    assert any(r.headers.get("x-amz-security-token") == SESSION_TOKEN for r in up.requests)
    records = caplog.records
    assert any(r.levelno == logging.DEBUG for r in records), "DEBUG records were not captured"
    for record in records:
        rendered = f"{record.getMessage()} {record.exc_text or ''} {record.args!r}"
        assert not leaks(rendered), f"{record.name} {record.levelname} leaks {leaks(rendered)}: {rendered[:300]}"
    assert not leaks(caplog.text)
    for shown in seen:
        assert not leaks(shown)


def test_error_event_over_sse_is_redacted_too(gateway_factory, upstream_factory, monkeypatch):
    """A secret echoed after the stream started (in the error event) is masked as well."""
    monkeypatch.setenv("PLANTED_PROVIDER_KEY", PROVIDER_KEY)

    def mid_stream_echo(request) -> StubReply:
        auth = request.headers.get("authorization", "")
        error = b"data: " + json.dumps({"error": {"message": f"quota exceeded for {auth}"}}).encode() + b"\n\n"
        return StubReply(headers={"content-type": "text/event-stream"}, parts=[*openai_sse_parts(["Hello"])[:2], error])

    up = upstream_factory(mid_stream_echo)
    gw = gateway_factory({"llms": {"echo": {"provider": "vllm", "model": "echo", "base_url": f"{up.url}/v1", "api_key": "${PLANTED_PROVIDER_KEY}"}}})
    response = httpx.post(f"{gw.base_url}/chat/completions", json={"model": "echo", "messages": HELLO, "stream": True}, timeout=10)
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and "error" in events[-2]
    assert "quota exceeded for" in events[-2]["error"]["message"]
    assert PROVIDER_KEY not in response.text


def test_log_records_are_masked_in_every_handler_even_uvicorns_own(monkeypatch, capsys):
    """uvicorn's loggers (propagate=False) and LiteLLM's have handlers of their own, configured
    after the gateway installs redaction: records are masked where they are made."""
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    from llmrouter.secrets import install_log_redaction, register_secret

    register_secret(PROVIDER_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    install_log_redaction()
    saved = {name: (lg.handlers[:], lg.level, lg.propagate) for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "LiteLLM")
             for lg in [logging.getLogger(name)]}
    try:
        logging.config.dictConfig(LOGGING_CONFIG)  # what uvicorn.run does, after our install
        litellm_handler = logging.StreamHandler()  # what LiteLLM does at import
        logging.getLogger("LiteLLM").addHandler(litellm_handler)
        logging.getLogger("uvicorn.error").error("upstream said %s", f"bad key {PROVIDER_KEY}")
        logging.getLogger("LiteLLM").error("signing with x-amz-security-token:%s", SESSION_TOKEN)
        try:
            raise RuntimeError(f"token {SESSION_TOKEN} expired")
        except RuntimeError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
        # An access-log record keeps its argument tuple (uvicorn's formatter unpacks it).
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", f"/v1/models?key={PROVIDER_KEY}", "1.1", 200)
        for handler in logging.getLogger("uvicorn").handlers + logging.getLogger("uvicorn.access").handlers + [litellm_handler]:
            handler.flush()
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
    captured = capsys.readouterr()
    err = captured.err + captured.out
    assert "upstream said bad key ***" in err
    assert "x-amz-security-token:***" in err
    assert "token *** expired" in err and "Traceback" in err
    assert '"GET /v1/models?key=*** HTTP/1.1" 200' in err
    assert not leaks(err)
