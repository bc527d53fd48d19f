"""LiteLLM's per-model Converse parameter list is remembered, and forgotten when the cost map changes.

The memo (llmrouter.utils.litellm_memo) saves ~1 ms per Bedrock call; what it must never do is
answer differently from LiteLLM: for any model, before and after a ``register_model``.
"""

from __future__ import annotations

import pytest

from llmrouter.utils.litellm_setup import load_litellm

MODELS = [
    "amazon.nova-lite-v1:0",
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "meta.llama3-1-8b-instruct-v1:0",
    "cohere.command-r-v1:0",
    "deepseek.r1-v1:0",
    "openai.gpt-oss-20b-1:0",
    "arn:aws:bedrock:us-east-1:123456789012:imported-model/abc",
    "acme.not-a-bedrock-model-v1:0",
]


@pytest.fixture(scope="module")
def converse_config():
    litellm = load_litellm()
    from litellm.llms.bedrock.chat.converse_transformation import AmazonConverseConfig

    assert getattr(AmazonConverseConfig.get_supported_openai_params, "__openclaw_memo__", False), "memo not installed"
    return litellm, AmazonConverseConfig, AmazonConverseConfig.get_supported_openai_params.__wrapped__


@pytest.mark.parametrize("model", MODELS)
def test_same_answer_as_litellm_and_a_fresh_list_each_time(converse_config, model):
    _, config_class, original = converse_config
    expected = original(config_class(), model)
    first = config_class().get_supported_openai_params(model)
    first.append("caller-mutation")  # LiteLLM's callers may extend the list they get
    assert config_class().get_supported_openai_params(model) == expected


def test_a_model_registered_later_is_answered_from_the_new_map(converse_config):
    litellm, config_class, original = converse_config
    model = "acme.widget-memo-test-v1:0"
    before = config_class().get_supported_openai_params(model)  # unknown: LiteLLM allows tools and thinking
    litellm.register_model({model: {
        "litellm_provider": "bedrock", "mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6,
        "supports_function_calling": False, "supports_tool_choice": False,
    }})
    after = config_class().get_supported_openai_params(model)
    assert after == original(config_class(), model)
    assert after != before, "the registration should change LiteLLM's answer, or this test proves nothing"
