"""One vocabulary: the provider names, the default timeouts and the forwarded OpenAI parameters
live in :mod:`llmrouter.providers`, and a :class:`ChatCall` is built in one function only.

Two spellings of the same thing drift apart (a new provider spelling accepted by the config
but not by ``call_api``, a parameter the server forwards and the CLI drops); these checks fail
when a second spelling creeps back in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from llmrouter import providers
from llmrouter.utils.chat_call import from_request

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("llmrouter/**/*.py"), *ROOT.glob("openclaw_litellm/**/*.py")])


def _calls_named(name: str) -> list[str]:
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                if called == name:
                    found.append(path.relative_to(ROOT).as_posix())
    return found


def test_chat_call_is_built_in_one_place():
    assert _calls_named("ChatCall") == ["llmrouter/utils/chat_call.py"]


@pytest.mark.parametrize("literal", [providers.OPENAI_COMPATIBLE])
def test_provider_labels_are_spelled_only_in_providers(literal):
    offenders = []
    for path in SOURCES:
        if path == ROOT / "llmrouter" / "providers.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value == literal:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize("service", ["bedrock", "aws", " AWS ", "Bedrock"])
def test_any_bedrock_spelling_is_bedrock(service):
    assert providers.is_bedrock(service)
    assert providers.provider_kind(service) == providers.BEDROCK
    assert providers.provider_label(service) == "bedrock"


@pytest.mark.parametrize("service", [None, "", "openai", "nvidia", "bedrock-ish"])
def test_everything_else_is_openai_compatible(service):
    assert not providers.is_bedrock(service)
    assert providers.provider_kind(service) == providers.OPENAI
    assert providers.provider_label(service) == "OpenAI-compatible"


def test_the_server_schema_forwards_exactly_the_shared_parameter_list():
    from openclaw_litellm.schemas import ChatRequest

    gateway_only = {"model", "messages", "stream", "stream_options", "n", "store", "prompt_cache_key"}
    assert [f for f in ChatRequest.model_fields if f not in gateway_only] == list(providers.OPENAI_PARAMS)


def test_from_request_without_defaults_forwards_only_what_was_set():
    call = from_request({"service": "bedrock", "api_name": "m", "messages": [{"role": "user", "content": "hi"}], "top_p": 0.5})
    assert call.params == {"top_p": 0.5}
    assert call.timeout == providers.CALL_API_TIMEOUT_S
