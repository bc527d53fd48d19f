"""Upstream's router and model keys mean here what they meant there.

The `llm` strategy's router model written inline, `rules` ending with `{default: NAME}`,
`provider_type`, `auth_mode`, `chat_path`, `local`; `strategy: llmrouter` is refused in one
line that says what to run instead; keys no upstream version had still stop the server.
"""

from __future__ import annotations

import logging

import pytest

from conftest import asgi_gateway
from llmrouter.config import ConfigError, OpenClawConfig
from loopback import StubReply, openai_completion_body


def load(text: str, tmp_path) -> OpenClawConfig:
    path = tmp_path / "upstream.yaml"
    path.write_text(text)
    return OpenClawConfig.from_yaml(path)


def load_error(text: str, tmp_path) -> str:
    with pytest.raises(ConfigError) as caught:
        load(text, tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    return message


async def test_the_inline_router_model_decides_auto(upstream, tmp_path):
    """router.provider/base_url/model (and api_keys[provider]) are the router model, as upstream."""
    router = upstream(lambda req: StubReply(body=openai_completion_body("big")))
    models = upstream(lambda req: StubReply(body=openai_completion_body(f"answered by {req.json()['model']}")))
    config = load(f"""
router:
  strategy: llm
  provider: together
  base_url: {router.url}/v1
  model: router-8b
api_keys:
  together: tg-router-key-123
llms:
  small: {{provider: together, model: small-id, base_url: '{models.url}/v1', description: short answers}}
  big: {{provider: together, model: big-id, base_url: '{models.url}/v1', description: hard questions}}
""", tmp_path)
    async with asgi_gateway(config) as (client, _):
        answer = (await client.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": "prove it"}]})).json()
    assert answer["choices"][0]["message"]["content"] == "answered by big-id"
    [asked] = router.requests
    assert asked.path == "/v1/chat/completions" and asked.json()["model"] == "router-8b"
    assert asked.headers["authorization"] == "Bearer tg-router-key-123"
    assert "small: short answers" in asked.json()["messages"][0]["content"]


def test_strategy_llmrouter_is_one_line_that_says_what_to_run(tmp_path):
    message = load_error("""
router:
  strategy: llmrouter
  llmrouter: {name: knnrouter, config_path: configs/model_config_train/knnrouter.yaml}
llms:
  a: {provider: bedrock, model: amazon.nova-lite-v1:0, aws_region: us-east-1}
""", tmp_path)
    assert "router.strategy: `llmrouter`" in message and "'knnrouter'" in message
    assert "llmrouter train" in message and "strategy: trained" in message


def test_llmrouter_settings_under_another_strategy_are_ignored_with_a_notice(tmp_path):
    config = load("""
router:
  strategy: first
  llmrouter: {name: knnrouter}
llms:
  a: {provider: bedrock, model: amazon.nova-lite-v1:0, aws_region: us-east-1}
""", tmp_path)
    assert any("router.llmrouter" in n and "ignored" in n for n in config.notices)


def test_a_rules_default_entry_is_the_default(tmp_path):
    config = load("""
router:
  strategy: rules
  rules:
    - keywords: [code]
      model: b
    - default: a
llms:
  a: {provider: bedrock, model: amazon.nova-lite-v1:0, aws_region: us-east-1}
  b: {provider: bedrock, model: amazon.titan-text-lite-v1, aws_region: us-east-1}
""", tmp_path)
    assert config.router.default == "a" and [r.model for r in config.router.rules] == ["b"]


async def test_auth_mode_chat_path_and_provider_type(upstream, tmp_path):
    up = upstream(lambda req: StubReply(body=openai_completion_body("ok")))
    config = load(f"""
api_keys:
  vllm: local-key-abcdef
llms:
  none: {{provider: vllm, provider_type: openai_compatible, auth_mode: none, model: m, base_url: '{up.url}', chat_path: /v2/chat}}
  bearer: {{provider: vllm, auth_mode: bearer, local: true, model: m, base_url: '{up.url}/v1'}}
""", tmp_path)
    async with asgi_gateway(config) as (client, _):
        for name in ("none", "bearer"):
            response = await client.post("/v1/chat/completions", json={"model": name, "messages": [{"role": "user", "content": "hi"}]})
            assert response.status_code == 200, response.text
    first, second = up.requests
    assert first.path == "/v2/chat" and "authorization" not in first.headers
    assert second.path == "/v1/chat/completions" and second.headers["authorization"] == "Bearer local-key-abcdef"


def test_a_provider_type_upstream_never_had_is_one_line(tmp_path):
    message = load_error("llms:\n  a: {provider: x, provider_type: grpc, model: m, base_url: 'http://127.0.0.1:9/v1'}\n", tmp_path)
    assert "llms.a.provider_type: 'grpc'" in message and "openai_compatible" in message


@pytest.mark.parametrize(
    ("text", "where", "guess"),
    [
        ("router:\n  stratgy: random\n", "router.stratgy", "strategy"),
        ("llms:\n  a: {provider: bedrock, model: m, aws_region: us-east-1, auth_mod: none}\n", "llms.a.auth_mod", "auth_mode"),
    ],
)
def test_keys_no_upstream_had_still_stop_the_server(tmp_path, text, where, guess):
    if not text.startswith("llms"):
        text += "llms:\n  a: {provider: bedrock, model: m, aws_region: us-east-1}\n"
    message = load_error(text, tmp_path)
    assert f"{where}: unknown key; did you mean '{guess}'?" in message


def test_a_bad_inline_router_model_is_named_as_written(tmp_path):
    message = load_error("""
router:
  strategy: llm
  provider: my-vllm
  model: router-8b
llms:
  a: {provider: bedrock, model: amazon.nova-lite-v1:0, aws_region: us-east-1}
""", tmp_path)
    assert ": router: provider 'my-vllm'" in message and "needs `base_url`" in message
