"""One body parser (``schemas.parse_body``) for chat, Responses and WebSocket frames.

The same defect gets the same 400, in the same words, whichever endpoint receives it; and
no module reaches into another's private helpers to get there.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from llmrouter import errors
from openclaw_litellm.responses_request import ResponsesRequest, parse_responses_request
from openclaw_litellm.schemas import MAX_JSON_DEPTH, ChatRequest, parse_body, parse_chat_request

ROOT = Path(__file__).resolve().parents[2]


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


DEFECTS = {
    "not json": (b"{nope", "The request body is not valid JSON"),
    "not an object": (b"[1, 2]", "The request body must be a JSON object"),
    "too deep": (json.dumps({"model": "m", "x": _nested(MAX_JSON_DEPTH + 5)}), f"nests deeper than {MAX_JSON_DEPTH} levels"),
    "model missing": (b"{}", "Invalid request: `model` is required"),
    "model wrong type": (b'{"model": 5}', "Invalid request: `model` Input should be a valid string"),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_the_same_defect_is_the_same_400_on_every_endpoint(defect):
    raw, said = DEFECTS[defect]
    caught = []
    for parse in (parse_chat_request, parse_responses_request):
        with pytest.raises(errors.GatewayError) as err:
            parse(raw)
        caught.append(err.value)
    chat, responses = caught
    assert chat.status == responses.status == 400 and chat.code == responses.code == "invalid_request"
    assert chat.message == responses.message and said in chat.message
    assert chat.param == responses.param


def test_parse_body_returns_the_model_asked_for():
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "input": "hi"}
    assert isinstance(parse_body(json.dumps(body), ChatRequest), ChatRequest)
    assert isinstance(parse_body(json.dumps(body).encode(), ResponsesRequest), ResponsesRequest)


def test_param_names_the_field_as_sent():
    with pytest.raises(errors.GatewayError) as err:
        parse_body(b'{"model": "m", "messages": [{"role": "user", "content": 5}]}', ChatRequest)
    assert err.value.param == "messages.0.content"


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for path in sorted([*ROOT.glob("llmrouter/**/*.py"), *ROOT.glob("openclaw_litellm/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("llmrouter", "openclaw_litellm")):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module} {private}")
    assert offenders == []
