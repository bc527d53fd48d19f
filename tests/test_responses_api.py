"""``POST /v1/responses``: request translation, the SSE event sequence read back by the official
``openai`` client (``responses.stream`` / ``create(stream=True)``), non-streamed answers and
errors, over both provider families (a scripted OpenAI-compatible upstream, a recorded Bedrock
ConverseStream and the rule-enforcing Bedrock upstream)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from conftest import replay_upstream, sse_events
from loopback import StubReply, openai_sse_parts
from e2e.upstreams import BedrockUpstream, OpenAIUpstream
from openclaw_litellm.responses_request import parse_responses_request

PYDANTIC_AI = "tools/pydantic-ai/test_bedrock/test_bedrock_model_iter_stream.yaml"
OPENCLAW = Path(__file__).parent / "fixtures" / "openclaw"  # real OpenClaw 2026.9.6 requests (see its README)

# The shape OpenClaw's `openai-responses` mode sends (observed): input_text parts, the system
# prompt as an input message, flat function tools, max_output_tokens, store: false.
EXEC = {"type": "function", "name": "exec", "description": "Run a shell command.",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}
SYSTEM = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "You are OpenClaw."}]}


def user(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


@pytest.fixture(autouse=True)
def _quiet_sdk_serializer():
    # The SDK's parsed-response models warn when dumped; irrelevant to what is tested here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[OpenAIUpstream, BedrockUpstream]]:
    with OpenAIUpstream() as oa, BedrockUpstream() as br:
        yield oa, br


@pytest.fixture(scope="module")
def gw(gateway_factory, upstreams):  # noqa: ANN001, ANN201
    oa, br = upstreams
    return gateway_factory({
        "router": {"strategy": "first", "models": ["oa"]},
        "llms": {
            "oa": {"provider": "openai", "model": "scripted", "base_url": f"{oa.url}/v1"},
            "claude": {"provider": "bedrock", "model": "anthropic.claude-3-5-haiku-20241022-v1:0", "aws_region": "us-east-1", "base_url": br.url},
            "nova": {"provider": "bedrock", "model": "us.amazon.nova-micro-v1:0", "aws_region": "us-east-1"},
        },
    })


# --- the event sequence -------------------------------------------------------------------------


def test_tool_call_stream_read_by_responses_stream(gw, upstreams):
    """OpenAI-compatible upstream: a function_call item, its argument deltas, usage at the end."""
    oa, _ = upstreams
    with gw.client().responses.stream(model="oa", input=[SYSTEM, user("run it token=tk1")], tools=[EXEC],
                                      max_output_tokens=256, store=False) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done", "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added, done = events[2], events[-2]
    assert added.item.type == "function_call" and added.item.status == "in_progress" and added.item.name == "exec"
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert deltas == events[6].arguments == done.item.arguments == '{"command":"echo tk1"}'
    assert {e.item_id for e in events[3:7]} == {added.item.id} == {done.item.id}
    assert final.status == "completed" and final.model == "oa"
    call = final.output[0]
    assert call.type == "function_call" and call.call_id.startswith("call_") and call.name == "exec"
    sent = oa.requests[-1].body  # what the upstream got: chat messages, nested tools, max_tokens
    assert sent["messages"][0] == {"role": "system", "content": [{"type": "text", "text": "You are OpenClaw."}]}
    assert sent["tools"] == [{"type": "function", "function": {k: v for k, v in EXEC.items() if k != "type"}}]
    assert sent["max_tokens"] == 256 and "store" not in sent
    usage = final.usage
    assert usage.input_tokens > 0 and usage.output_tokens == 6 and usage.total_tokens == usage.input_tokens + 6


def test_function_call_output_round_trip_then_text_events(gw, upstreams):
    """Turn 2 as OpenClaw sends it: the function_call item back (id rewritten) and its output."""
    oa, _ = upstreams
    history = [SYSTEM, user("run it token=tk2"),
               {"type": "function_call", "id": "fc_1", "call_id": "callxyz", "name": "exec", "arguments": '{"command":"echo tk2"}'},
               {"type": "function_call_output", "call_id": "callxyz", "output": "tk2"},
               user("internal context")]
    stream = gw.client().responses.create(model="oa", input=history, tools=[EXEC], stream=True)
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "The tool printed: tk2" == events[-4].text
    assert events[-1].response.output[0].content[0].text == text
    sent = oa.requests[-1]
    assert sent.rejected is None  # the upstream checks tool messages answer a tool_calls id
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert sent.body["messages"][2]["tool_calls"][0]["id"] == "callxyz" and sent.body["messages"][3]["tool_call_id"] == "callxyz"


def test_bedrock_recording_as_responses_events(gw):
    """A real ConverseStream (text, then toolUse): a message item, then a function_call item."""
    tools = [{"type": "function", "name": "get_temperature", "description": "Get the temperature in a city.",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    with replay_upstream(PYDANTIC_AI):
        with gw.client().responses.stream(model="nova", instructions="You are a helpful chatbot.",
                                          input="What is the temperature of the capital of France?", tools=tools) as stream:
            events = list(stream)
            final = stream.get_final_response()
    item_events = [(e.type, getattr(e, "output_index", None)) for e in events if e.type.startswith("response.output_item")]
    assert item_events == [("response.output_item.added", 0), ("response.output_item.done", 0),
                           ("response.output_item.added", 1), ("response.output_item.done", 1)]
    message, call = final.output
    assert message.type == "message" and message.content[0].text.startswith("<thinking> To find the temperature")
    assert (call.type, call.call_id, call.name, call.arguments) == ("function_call", "tooluse_lAG_zP8QRHmSYOwZzzaCqA", "get_temperature", '{"city":"Paris"}')
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (471, 91, 562)


def test_bedrock_round_trip_through_the_rule_enforcing_upstream(gw, upstreams):
    _, br = upstreams
    client = gw.client()
    first = client.responses.create(model="claude", input=[SYSTEM, user("go token=tk3"), user("ctx")], tools=[EXEC], max_output_tokens=300)
    call = next(o for o in first.output if o.type == "function_call")
    assert json.loads(call.arguments) == {"command": "echo tk3"}
    history = [SYSTEM, user("go token=tk3"), user("ctx"),
               {"type": "function_call", "call_id": call.call_id.replace("_", ""), "name": call.name, "arguments": call.arguments},
               {"type": "function_call_output", "call_id": call.call_id.replace("_", ""), "output": [{"type": "input_text", "text": "tk3"}]}]
    with client.responses.stream(model="claude", input=history, tools=[EXEC]) as stream:
        final = stream.get_final_response()
    assert final.output_text == "The tool printed: tk3"
    assert br.requests[-1].rejected is None
    assert [m["role"] for m in br.requests[-1].body["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize("model", ["oa", "claude"])
def test_real_openclaw_responses_requests_on_both_families(gw, upstreams, model):
    """OpenClaw's own /v1/responses requests (turn 1, then the function_call round trip)."""
    oa, br = upstreams
    client = gw.client()
    for turn in ("responses-turn1", "responses-turn2"):
        body = json.loads((OPENCLAW / f"{turn}.json").read_text())
        assert body["stream"] is True and body["store"] is False
        body.pop("stream")
        with client.responses.stream(**{**body, "model": model}) as stream:
            final = stream.get_final_response()
        assert final.status == "completed" and final.usage.total_tokens > 0
        if turn == "responses-turn1":
            assert [o.type for o in final.output if o.type == "function_call"] == ["function_call"]
            assert json.loads(final.output[-1].arguments) == {"command": "echo e2e-capture"}
        else:
            assert final.output_text == "The tool printed: e2e-capture"
        sent = (br if model == "claude" else oa).requests[-1]
        assert sent.rejected is None


# --- non-stream, routing, finish reasons, failures --------------------------------------------


def test_non_streamed_response_and_auto_routing(gw):
    response = gw.client().responses.create(model="auto", input="hello", instructions="be brief")
    assert response.object == "response" and response.status == "completed"
    assert response.model == "oa" and response.output_text == "No tools were offered, so here is a plain answer."
    assert response.instructions == "be brief" and response.store is False
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens > 0


def test_length_finish_is_an_incomplete_response(gateway_factory, upstream_factory):
    def route(request):  # noqa: ANN001, ANN202
        parts = openai_sse_parts(["cut"])
        parts[-3] = parts[-3].replace(b'"finish_reason": "stop"', b'"finish_reason": "length"')
        return StubReply(parts=parts, headers={"content-type": "text/event-stream"})

    up = upstream_factory(route)
    gw = gateway_factory({"llms": {"m": {"provider": "openai", "model": "x", "base_url": f"{up.url}/v1"}}})
    events = list(gw.client().responses.create(model="m", input="hi", max_output_tokens=1, stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.status == "incomplete" and events[-1].response.incomplete_details.reason == "max_output_tokens"
    assert events[-1].response.output[0].content[0].text == "cut"


def test_a_stream_broken_midway_ends_with_response_failed(gateway_factory, upstream_factory):
    up = upstream_factory(lambda request: StubReply(parts=openai_sse_parts(["half", " an answer"], done=False)[:3], abort=True,
                                                    headers={"content-type": "text/event-stream"}))
    gw = gateway_factory({"llms": {"m": {"provider": "openai", "model": "x", "base_url": f"{up.url}/v1"}}})
    with httpx.stream("POST", f"{gw.base_url}/responses", json={"model": "m", "input": "hi", "stream": True}, timeout=30) as response:
        assert response.status_code == 200
        raw = response.read().decode()
    names = [line[7:] for line in raw.splitlines() if line.startswith("event: ")]
    events = sse_events(raw)
    assert [e["type"] for e in events] == names  # each event is named after its type
    assert names[-1] == "response.failed" and "response.completed" not in names
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] and failed["error"]["message"]
    assert "[DONE]" not in raw
    # The partial text item is closed, as incomplete, before the failure; its text is kept.
    done = next(e for e in events if e["type"] == "response.output_item.done")
    assert done["item"]["status"] == "incomplete" and done["item"]["content"][0]["text"] == "half an answer"
    assert failed["output"] == [done["item"]]


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"model": "oa", "input": "hi", "previous_response_id": "resp_1"}, "previous_response_id", "stores no responses"),
    ({"model": "oa", "input": "hi", "tools": [{"type": "web_search"}]}, "tools.0.type", "only function tools"),
    ({"model": "oa", "input": [{"type": "item_reference", "id": "x"}]}, "input.0.type", "not supported"),
    ({"model": "oa", "input": [{"type": "function_call", "name": "exec"}]}, "input.0", "call_id"),
    ({"model": "oa"}, "input", "is required"),
    ({"model": "oa", "input": "hi", "temperature": 9}, "temperature", "less than or equal to 2"),
])
def test_bad_requests_are_400_with_the_field_named(gw, body, param, words):
    response = httpx.post(f"{gw.base_url}/responses", json=body, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and words in error["message"]


def test_unknown_model_is_the_chat_endpoints_error(gw):
    with pytest.raises(openai.NotFoundError) as caught:
        gw.client().responses.create(model="nope", input="hi")
    assert "nope" in caught.value.message


# --- translation (no server) -----------------------------------------------------------------


def test_translation_of_an_openclaw_request():
    raw = {
        "model": "auto", "stream": True, "store": False, "max_output_tokens": 4096, "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low", "summary": "auto"}, "tool_choice": {"type": "function", "name": "exec"},
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": True}},
        "input": [
            SYSTEM,
            {"role": "developer", "content": "dev notes"},
            user("look at this"),
            {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
            {"type": "function_call", "call_id": "c1", "name": "exec", "arguments": '{"command":"ls"}'},
            {"type": "function_call", "call_id": "c2", "name": "exec", "arguments": '{"command":"pwd"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "a b"},
            {"type": "function_call_output", "call_id": "c2", "output": {"cwd": "/"}},
        ],
        "tools": [dict(EXEC, strict=False)],
    }
    chat = parse_responses_request(json.dumps(raw)).to_chat()
    messages = chat.messages_as_dicts()
    assert [m["role"] for m in messages] == ["system", "developer", "user", "user", "assistant", "tool", "tool"]
    assert messages[3]["content"] == [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}]
    assert messages[4]["content"] == "Let me check." and [c["id"] for c in messages[4]["tool_calls"]] == ["c1", "c2"]
    assert messages[6] == {"role": "tool", "content": '{"cwd":"/"}', "tool_call_id": "c2"}
    params = chat.provider_params()
    assert params["max_tokens"] == 4096 and params["reasoning_effort"] == "low"
    assert params["tool_choice"] == {"type": "function", "function": {"name": "exec"}}
    assert params["tools"][0]["function"]["strict"] is False
    assert params["response_format"] == {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True}}
    assert chat.stream and chat.wants_usage and "store" not in params
