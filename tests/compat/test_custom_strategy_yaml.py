"""``router: {strategy: custom, class: module:Class}`` routes ``auto`` with a class of yours.

The equivalent of upstream's ``custom_routers/<name>/``: the module sits beside the config
(or on the Python path); its class follows llmrouter.routing.base.Strategy.
"""

from __future__ import annotations

import logging
import textwrap

import pytest

from conftest import asgi_gateway
from llmrouter.config import OpenClawConfig
from llmrouter.routing import Router
from loopback import StubReply, openai_completion_body

STRATEGY = textwrap.dedent(
    '''
    from llmrouter.routing.base import last_user_text


    class ByKeyword:
        """Routes to `target` when the word appears, else to the first model."""

        name = "by_keyword"

        def __init__(self, models, llms, word, target):
            self.models, self.word, self.target = list(models), word, target

        def choose(self, request):  # a plain def is accepted too
            text = last_user_text(request)
            if "explode" in text:
                raise RuntimeError("boom")
            if "elsewhere" in text:
                return "not-a-model"
            return self.target if self.word in text else self.models[0]
    '''
)


@pytest.fixture
def gateway_yaml(tmp_path, upstream):
    up = upstream(lambda req: StubReply(body=openai_completion_body(f"from {req.json()['model']}")))
    module = tmp_path / "compat_keyword_strategy.py"
    module.write_text(STRATEGY)
    path = tmp_path / "gateway.yaml"
    path.write_text(textwrap.dedent(f"""
        router:
          strategy: custom
          class: compat_keyword_strategy:ByKeyword
          options: {{word: python, target: coder}}
          default: chat
        llms:
          chat: {{provider: vllm, model: chat-model, base_url: '{up.url}/v1'}}
          coder: {{provider: vllm, model: code-model, base_url: '{up.url}/v1'}}
    """))
    return path


async def answer(client, text: str) -> str:  # noqa: ANN001
    response = await client.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": text}]})
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


async def test_a_class_named_in_the_yaml_routes_auto(gateway_yaml, caplog):
    config = OpenClawConfig.from_yaml(gateway_yaml)
    async with asgi_gateway(config) as (client, _):
        assert await answer(client, "fix my python script") == "from code-model"
        assert await answer(client, "hello there") == "from chat-model"
        with caplog.at_level(logging.WARNING, logger="openclaw.routing"):
            assert await answer(client, "explode please") == "from chat-model"  # router.default
            assert await answer(client, "go elsewhere") == "from chat-model"
    warnings = [r.getMessage() for r in caplog.records if r.name == "openclaw.routing"]
    assert any("raised RuntimeError: boom" in w for w in warnings)
    assert any("'not-a-model'" in w for w in warnings)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("no_such_module_anywhere:X", "cannot import module 'no_such_module_anywhere'"),
        ("compat_keyword_strategy:Missing", "has no class 'Missing'"),
        ("compat_keyword_strategy", "is not \"module:ClassName\""),
    ],
)
def test_a_class_that_cannot_be_loaded_is_one_line(gateway_yaml, spec, expected):
    text = gateway_yaml.read_text().replace("compat_keyword_strategy:ByKeyword", spec)
    gateway_yaml.write_text(text)
    config = OpenClawConfig.from_yaml(gateway_yaml)
    with pytest.raises(ValueError) as caught:
        Router(config)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
