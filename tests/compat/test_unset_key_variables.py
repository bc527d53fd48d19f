"""An unset ``${VAR}`` in a key warns at startup and fails only the models that need it.

Upstream read an unset variable as an empty key and started; here the models whose key it
is answer a clear "set VAR" error (OpenAI's shape, on every surface) while the others serve.
A value the server needs to start (``serve.port``) still stops it: tests/test_config.py.
"""

from __future__ import annotations

import logging

import pytest

from conftest import asgi_gateway
from llmrouter.config import OpenClawConfig
from llmrouter.startup_checks import startup_warnings
from loopback import StubReply, openai_completion_body

VAR = "LLMROUTER_COMPAT_UNSET_KEY"


@pytest.fixture
def stub(upstream):
    return upstream(lambda req: StubReply(body=openai_completion_body("served")))


def config_for(url: str) -> OpenClawConfig:
    return OpenClawConfig.from_dict({
        "api_keys": {"nvidia": f"${{{VAR}}}"},
        "llms": {
            "needs-var": {"provider": "nvidia", "model": "m1", "base_url": f"{url}/v1"},
            "also-needs-var": {"provider": "nvidia", "model": "m2", "base_url": f"{url}/v1"},
            "own-key": {"provider": "nvidia", "model": "m3", "base_url": f"{url}/v1", "api_key": "own-key-123456"},
        },
    })


async def test_models_needing_the_variable_say_set_var_and_the_others_serve(stub, monkeypatch, caplog):
    monkeypatch.delenv(VAR, raising=False)
    config = config_for(stub.url)
    with caplog.at_level(logging.WARNING, logger="openclaw.startup"):
        async with asgi_gateway(config) as (client, _):
            failed = await client.post("/v1/chat/completions", json={"model": "needs-var", "messages": [{"role": "user", "content": "hi"}]})
            streamed = await client.post("/v1/chat/completions", json={"model": "needs-var", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
            served = await client.post("/v1/chat/completions", json={"model": "own-key", "messages": [{"role": "user", "content": "hi"}]})
    assert failed.status_code == 401
    error = failed.json()["error"]
    assert error["code"] == "provider_key_unset" and error["type"] == "authentication_error"
    assert f"Set {VAR}" in error["message"] and "api_keys.nvidia" in error["message"] and "'needs-var'" in error["message"]
    assert streamed.status_code == 401 and streamed.json()["error"]["code"] == "provider_key_unset"
    assert served.status_code == 200 and served.json()["choices"][0]["message"]["content"] == "served"
    assert [r.headers["authorization"] for r in stub.requests] == ["Bearer own-key-123456"]  # nothing went out keyless
    [warning] = [r.getMessage() for r in caplog.records if VAR in r.getMessage()]
    assert "models needs-var, also-needs-var need it" in warning and f"set {VAR}" in warning


async def test_once_set_the_variable_is_used(stub, monkeypatch):
    monkeypatch.delenv(VAR, raising=False)
    config = config_for(stub.url)
    monkeypatch.setenv(VAR, "now-set-key-7890")
    async with asgi_gateway(config) as (client, _):
        response = await client.post("/v1/chat/completions", json={"model": "needs-var", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200
    assert stub.requests[-1].headers["authorization"] == "Bearer now-set-key-7890"


def test_a_model_without_any_key_is_warned_about_once_with_the_fix(monkeypatch):
    monkeypatch.delenv("LLMROUTER_COMPAT_NIM_KEY", raising=False)
    config = OpenClawConfig.from_dict({"llms": {
        "nim": {"provider": "nvidia", "model": "meta/llama-3.1-8b-instruct", "api_key_env": "LLMROUTER_COMPAT_NIM_KEY"},
        "local": {"provider": "vllm", "model": "m", "base_url": "http://127.0.0.1:8001/v1"},  # a local server needs none
    }})
    warnings = startup_warnings(config)
    [nim] = [w for w in warnings if "nim" in w]
    assert "api_key_env: LLMROUTER_COMPAT_NIM_KEY" in nim and "which is not set" in nim and "Set the key" in nim
    assert not [w for w in warnings if "model local" in w]


def test_infer_with_such_a_model_is_one_error_line(tmp_path, monkeypatch, capsys):
    from llmrouter import cli

    monkeypatch.delenv(VAR, raising=False)
    path = tmp_path / "gw.yaml"
    path.write_text(f"llms:\n  nim:\n    provider: nvidia\n    model: m\n    api_key: ${{{VAR}}}\n")
    code = cli.main(["infer", "--config", str(path), "--model", "nim", "--query", "hi"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: Model 'nim' has no API key") and f"Set {VAR}" in err
    assert "Traceback" not in err
