"""Tool calling through Bedrock, both ways, through the gateway (custom handler -> api_calling).

Answers come from real Bedrock recordings (``cassettes/reference/tools/``) or from the
rule-enforcing Bedrock upstream of the end-to-end check (:mod:`e2e.upstreams`), which answers
Bedrock's real 400 ValidationException when a Converse request breaks one of its rules.
What the gateway *sends* is captured (vcrpy's request hook, or the upstream's log) and compared
with what real clients sent in the recordings.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from conftest import REFERENCE, sse_events
from e2e.upstreams import TOOLCONFIG_MISSING, BedrockUpstream, OpenAIUpstream, converse_violation

PYDANTIC_AI = "tools/pydantic-ai/test_bedrock/test_bedrock_model_iter_stream.yaml"
OTEL_STREAM = "tools/opentelemetry-python-contrib/botocore-cassettes/test_converse_stream_with_content_tool_call.yaml"
OTEL_CONVERSE = "tools/opentelemetry-python-contrib/botocore-cassettes/test_converse_tool_call_with_content.yaml"
OPENCLAW = Path(__file__).resolve().parents[1] / "fixtures" / "openclaw"  # real OpenClaw 2026.9.6 requests (see its README)

WEATHER_TOOLS = [
    {"type": "function", "function": {"name": "get_capital", "description": "Get the capital of a country.", "parameters": {
        "properties": {"country": {"description": "The country name.", "title": "Country", "type": "string"}},
        "required": ["country"], "type": "object", "additionalProperties": False}}},
    {"type": "function", "function": {"name": "get_temperature", "description": "Get the temperature in a city.", "parameters": {
        "properties": {"city": {"description": "The city name.", "title": "City", "type": "string"}},
        "required": ["city"], "type": "object", "additionalProperties": False}}},
]
EXEC_TOOL = [{"type": "function", "function": {"name": "exec", "description": "Run a shell command.", "strict": False, "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}, "timeout": {"anyOf": [{"type": "number"}, {"type": "null"}]}},
    "required": ["command"]}}}]


@contextlib.contextmanager
def capture_replay(relative: str) -> Iterator[list[dict]]:
    """Replay a recording (method + URI) and collect the JSON bodies the gateway sent."""
    import vcr

    sent: list[dict] = []

    def keep(request):  # noqa: ANN001, ANN202 - vcrpy's hook sees every request before matching
        if request.body:
            sent.append(json.loads(request.body))
        return request

    player = vcr.VCR(match_on=["method", "scheme", "host", "port", "path", "query"], record_mode="none",
                     ignore_localhost=True, before_record_request=keep)
    with player.use_cassette(str(REFERENCE / relative)):
        yield sent


def recorded_request(relative: str, index: int) -> dict:
    body = yaml.safe_load((REFERENCE / relative).read_text())["interactions"][index]["request"]["body"]
    return json.loads(body if isinstance(body, str) else body.decode())


@pytest.fixture(scope="module")
def rules_upstream() -> Iterator[BedrockUpstream]:
    with BedrockUpstream() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def openai_upstream() -> Iterator[OpenAIUpstream]:
    with OpenAIUpstream() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gw(gateway_factory, rules_upstream, openai_upstream):  # noqa: ANN001, ANN201
    return gateway_factory({"llms": {
        "oa": {"provider": "openai", "model": "scripted", "base_url": f"{openai_upstream.url}/v1"},
        "nova": {"provider": "bedrock", "model": "us.amazon.nova-micro-v1:0", "aws_region": "us-east-1"},
        "nova-otel": {"provider": "bedrock", "model": "amazon.nova-micro-v1:0", "aws_region": "us-east-1"},
        "claude": {"provider": "bedrock", "model": "anthropic.claude-3-5-haiku-20241022-v1:0", "aws_region": "us-east-1",
                   "base_url": rules_upstream.url},
        "sonnet": {"provider": "bedrock", "model": "us.anthropic.claude-sonnet-4-20250514-v1:0", "aws_region": "us-east-1",
                   "base_url": rules_upstream.url},
    }})


def tool_deltas(chunks: list) -> dict[int, dict]:
    """Streamed tool calls by index: id, name and the joined argument fragments."""
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or ():
                entry = calls.setdefault(call.index, {"id": None, "name": None, "arguments": ""})
                entry["id"] = entry["id"] or call.id
                if call.function and call.function.name:
                    entry["name"] = call.function.name
                if call.function and call.function.arguments:
                    entry["arguments"] += call.function.arguments
    return calls


def finish_reasons(chunks: list) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


# --- Bedrock -> OpenAI: real recorded answers ------------------------------------------------------


def test_streamed_tool_use_becomes_tool_call_deltas_and_tools_become_tool_config(gw):
    messages = [{"role": "system", "content": "You are a helpful chatbot."},
                {"role": "user", "content": "What is the temperature of the capital of France?"}]
    with capture_replay(PYDANTIC_AI) as sent:
        chunks = list(gw.client().chat.completions.create(model="nova", messages=messages, tools=WEATHER_TOOLS, stream=True, top_p=0.5))
    # The request: OpenAI tools -> toolConfig exactly as the real client (pydantic-ai) sent it.
    recorded = recorded_request(PYDANTIC_AI, 0)
    assert sent[0]["toolConfig"] == recorded["toolConfig"]
    assert sent[0]["messages"] == recorded["messages"] and sent[0]["system"] == recorded["system"]
    # The answer: text, then the toolUse as OpenAI tool-call deltas, then finish "tool_calls".
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("<thinking> To find the temperature") and text.endswith("</thinking>\n")
    assert tool_deltas(chunks) == {0: {"id": "tooluse_lAG_zP8QRHmSYOwZzzaCqA", "name": "get_temperature", "arguments": '{"city":"Paris"}'}}
    assert finish_reasons(chunks) == ["tool_calls"]
    assert chunks[-1].choices == [] and (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (471, 91)


def test_two_streamed_tool_uses_become_two_indexed_tool_calls(gw):
    messages = [{"role": "user", "content": "What is the weather in Seattle and San Francisco today?"}]
    tools = [{"type": "function", "function": {"name": "get_current_weather", "description": "Get the current weather in a given location.",
              "parameters": {"type": "object", "properties": {"location": {"type": "string", "description": "The name of the city"}}, "required": ["location"]}}}]
    with capture_replay(OTEL_STREAM):
        chunks = list(gw.client().chat.completions.create(model="nova-otel", messages=messages, tools=tools, stream=True))
    assert tool_deltas(chunks) == {
        0: {"id": "tooluse_JZ11QcxSQ3m3xacMQKVIKw", "name": "get_current_weather", "arguments": '{"location":"Seattle"}'},
        1: {"id": "tooluse_-hxBEEwGRc-VQqC2i7SFqg", "name": "get_current_weather", "arguments": '{"location":"San Francisco"}'},
    }
    assert finish_reasons(chunks) == ["tool_calls"]


def test_non_streamed_tool_uses_become_tool_calls(gw):
    messages = [{"role": "user", "content": "What is the weather in Seattle and San Francisco today?"}]
    tools = [{"type": "function", "function": {"name": "get_current_weather", "description": "Get the current weather in a given location.",
              "parameters": {"type": "object", "properties": {"location": {"type": "string", "description": "The name of the city"}}, "required": ["location"]}}}]
    with capture_replay(OTEL_CONVERSE) as sent:
        answer = gw.client().chat.completions.create(model="nova-otel", messages=messages, tools=tools)
    assert sent[0]["toolConfig"] == recorded_request(OTEL_CONVERSE, 0)["toolConfig"]
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls] == [
        ("tooluse_tggNKJbGSrm48inRqf3Rvw", "get_current_weather", {"location": "Seattle"}),
        ("tooluse_bRV9WIcFSxyrLY6-MVkZRA", "get_current_weather", {"location": "San Francisco"}),
    ]


# --- OpenAI -> Bedrock: the history goes back as toolUse / toolResult ------------------------------


def test_tool_history_goes_back_as_the_real_client_sent_it(gw):
    """Turn 2 of the pydantic-ai recording, rebuilt from OpenAI messages, gives the recorded Converse body."""
    first = recorded_request(PYDANTIC_AI, 1)["messages"]
    tool_use = first[1]["content"][1]["toolUse"]
    messages = [
        {"role": "system", "content": "You are a helpful chatbot."},
        {"role": "user", "content": "What is the temperature of the capital of France?"},
        {"role": "assistant", "content": first[1]["content"][0]["text"], "tool_calls": [
            {"id": tool_use["toolUseId"], "type": "function", "function": {"name": "get_temperature", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": tool_use["toolUseId"], "content": "30°C"},
    ]
    with capture_replay(PYDANTIC_AI) as sent:
        list(gw.client().chat.completions.create(model="nova", messages=messages[:2], tools=WEATHER_TOOLS, stream=True, top_p=0.5))
        chunks = list(gw.client().chat.completions.create(model="nova", messages=messages, tools=WEATHER_TOOLS, stream=True, top_p=0.5))
    assert sent[1]["messages"] == first  # toolResult `status: success` included, as for Nova
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "The current temperature in Paris, the capital of France, is 30°C."
    assert finish_reasons(chunks) == ["stop"]


def openclaw_turn_two(call_id: str) -> list[dict]:
    """OpenClaw's second request: two user turns, the tool call (id rewritten), its result, a user turn."""
    return [
        {"role": "developer", "content": "You are OpenClaw."},
        {"role": "user", "content": "Run it. token=t0k3n"},
        {"role": "user", "content": [{"type": "text", "text": "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> none <<<END>>>"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": "exec", "arguments": '{"command":"echo t0k3n"}'}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "t0k3n"},
        {"role": "user", "content": [{"type": "text", "text": "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> still none <<<END>>>"}]},
    ]


def test_openclaw_round_trip_honours_bedrock_rules_and_keeps_rewritten_ids(gw, rules_upstream):
    client = gw.client()
    first = openclaw_turn_two("unused")[:3]
    chunks = list(client.chat.completions.create(model="claude", messages=first, tools=EXEC_TOOL, tool_choice="auto",
                                                 stream=True, max_completion_tokens=512))
    call = tool_deltas(chunks)[0]
    assert call["name"] == "exec" and json.loads(call["arguments"]) == {"command": "echo t0k3n"}
    assert call["id"].startswith("tooluse_") and finish_reasons(chunks) == ["tool_calls"]
    rewritten = call["id"].replace("_", "")  # what OpenClaw sends back (call_abc123 -> callabc123)
    chunks = list(client.chat.completions.create(model="claude", messages=openclaw_turn_two(rewritten), tools=EXEC_TOOL,
                                                 stream=True, max_completion_tokens=512))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "The tool printed: t0k3n"
    sent = rules_upstream.requests[-1]
    assert sent.rejected is None
    body = sent.body
    # Consecutive user turns merged (roles alternate), the developer prompt became `system`.
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["system"] == [{"text": "You are OpenClaw."}]
    assert [list(b) for b in body["messages"][0]["content"]] == [["text"], ["text"]]
    # The ids pass through exactly as the client sent them, on both blocks.
    assert body["messages"][1]["content"] == [{"toolUse": {"toolUseId": rewritten, "name": "exec", "input": {"command": "echo t0k3n"}}}]
    assert body["messages"][2]["content"][0] == {"toolResult": {"toolUseId": rewritten, "content": [{"text": "t0k3n"}]}}
    assert body["messages"][2]["content"][1]["text"].startswith("<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>")
    assert [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"]] == ["exec"]
    assert body["inferenceConfig"]["maxTokens"] == 512  # max_completion_tokens


@pytest.mark.parametrize("turn", ["chat-turn1", "chat-turn2"])
def test_real_openclaw_requests_on_the_openai_path(gw, openai_upstream, turn):
    """The same requests to an OpenAI-compatible model: passed through as sent (tools, contents,
    the rewritten tool-call id), max_completion_tokens as max_tokens."""
    body = json.loads((OPENCLAW / f"{turn}.json").read_text())
    response = httpx.post(f"{gw.base_url}/chat/completions", json={**body, "model": "oa"}, timeout=30)
    assert response.status_code == 200, response.text
    sent = openai_upstream.requests[-1]
    assert sent.rejected is None
    # As sent, except that `content: null` beside tool_calls is left out (OpenAI accepts both).
    assert sent.body["messages"] == [{k: v for k, v in m.items() if v is not None} for m in body["messages"]]
    assert sent.body["tools"] == body["tools"]
    assert sent.body["tool_choice"] == "auto" and sent.body["max_tokens"] == body["max_completion_tokens"]
    expected = "The tool printed: e2e-capture" if turn == "chat-turn2" else ""
    text = "".join(ch["delta"].get("content") or "" for e in sse_events(response.text) if e != "[DONE]" for ch in e["choices"])
    assert text == expected


def test_every_openclaw_compat_field_on_the_openai_path(gw, openai_upstream):
    """What OpenClaw's `compat` block adds: passed on (prompt-cache hints too), except `store`."""
    pixel = "data:image/png;base64,iVBORw0KGgo="
    body = {
        "model": "oa", "stream": True, "max_tokens": 64, "reasoning_effort": "low", "prompt_cache_key": "session-1", "store": False,
        "messages": [{"role": "developer", "content": "be brief"},
                     {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": pixel}}]}],
        "tools": [{"type": "function", "function": {**EXEC_TOOL[0]["function"], "strict": False}}],
    }
    response = httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    sent = openai_upstream.requests[-1].body
    assert sent["messages"] == body["messages"] and sent["tools"] == body["tools"]
    assert sent["reasoning_effort"] == "low" and sent["max_tokens"] == 64
    assert sent["prompt_cache_key"] == "session-1" and "store" not in sent


@pytest.mark.parametrize("turn", ["chat-turn1", "chat-turn2"])
def test_real_openclaw_requests_pass_bedrock_rules(gw, rules_upstream, turn):
    """OpenClaw's own requests (11 tools with rich schemas, string and part-list contents,
    max_completion_tokens, two user turns in a row, then the tool round trip) on a Bedrock model."""
    body = json.loads((OPENCLAW / f"{turn}.json").read_text())
    body["model"] = "claude"
    response = httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    chunks = [e for e in sse_events(response.text) if e != "[DONE]"]
    sent = rules_upstream.requests[-1]
    assert sent.rejected is None
    roles = [m["role"] for m in sent.body["messages"]]
    assert roles[0] == "user" and all(a != b for a, b in zip(roles, roles[1:])) and roles[-1] == "user"
    assert sent.body["system"][0]["text"].startswith("<!-- openclaw:attempt:STABLE -->")
    specs = {t["toolSpec"]["name"]: t["toolSpec"] for t in sent.body["toolConfig"]["tools"] if "toolSpec" in t}  # not cachePoints
    assert list(specs) == [t["function"]["name"] for t in body["tools"]] and len(specs) == 11
    env = specs["exec"]["inputSchema"]["json"]["properties"]["env"]
    assert env["patternProperties"] == {"^.*$": {"type": "string"}}
    assert sent.body["inferenceConfig"]["maxTokens"] == body["max_completion_tokens"]
    calls = [c for e in chunks for ch in e["choices"] for c in ch["delta"].get("tool_calls") or ()]
    text = "".join(ch["delta"].get("content") or "" for e in chunks for ch in e["choices"])
    if turn == "chat-turn1":
        assert calls[0]["function"]["name"] == "exec" and chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    else:
        call_id = body["messages"][2]["tool_calls"][0]["id"]
        assert sent.body["messages"][1]["content"][-1]["toolUse"]["toolUseId"] == call_id
        assert sent.body["messages"][2]["content"][0]["toolResult"]["toolUseId"] == call_id
        assert text == "The tool printed: e2e-capture" and not calls
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_tool_history_without_tools_gets_a_tool_config_and_keeps_its_blocks(gw, rules_upstream):
    """The original fork's bug: history with tool blocks, no `tools` -> Bedrock's 400."""
    answer = gw.client().chat.completions.create(model="claude", messages=openclaw_turn_two("callabc123"))
    assert answer.choices[0].message.content == "The tool printed: t0k3n"
    body = rules_upstream.requests[-1].body
    assert rules_upstream.requests[-1].rejected is None
    assert [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"]] == ["exec"]
    assert "toolChoice" not in body["toolConfig"]
    # Structured blocks, not the blocks flattened into prose.
    assert body["messages"][1]["content"][0]["toolUse"]["toolUseId"] == "callabc123"
    assert body["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "callabc123"


def test_the_rules_upstream_really_refuses_what_bedrock_refuses():
    """So that the tests above mean something: the upstream answers Bedrock's errors."""
    ok = {"messages": [{"role": "user", "content": [{"text": "hi"}]},
                       {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "exec", "input": {}}}]},
                       {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "x"}]}}]}],
          "toolConfig": {"tools": [{"toolSpec": {"name": "exec", "inputSchema": {"json": {"type": "object"}}}}]}}
    assert converse_violation(ok) is None
    assert converse_violation({k: v for k, v in ok.items() if k != "toolConfig"}) == TOOLCONFIG_MISSING
    twice_user = {**ok, "messages": [ok["messages"][0], ok["messages"][0]]}
    assert "must alternate between user and assistant" in converse_violation(twice_user)
    unanswered = {**ok, "messages": ok["messages"][:2] + [{"role": "user", "content": [{"text": "next"}]}]}
    assert "Expected toolResult blocks" in converse_violation(unanswered)
    stray = {**ok, "messages": ok["messages"][:2] + [{"role": "user", "content": [{"toolResult": {"toolUseId": "t2", "content": []}}]}]}
    assert "do not match any toolUse" in converse_violation(stray)
    prefill = {**ok, "messages": ok["messages"][:2]}
    assert "pre-filling the `assistant` response is not supported" in converse_violation(prefill)


def test_a_bedrock_validation_error_reaches_the_client_as_a_400(gw):
    messages = openclaw_turn_two("callabc123")
    messages[4] = {"role": "tool", "tool_call_id": "call-nobody-made", "content": "t0k3n"}
    with pytest.raises(openai.BadRequestError) as caught:
        gw.client().chat.completions.create(model="claude", messages=messages, tools=EXEC_TOOL)
    assert "toolResult" in caught.value.message or "toolUse" in caught.value.message


# --- every field OpenClaw sends, on the Bedrock path ---------------------------------------------


def test_reasoning_effort_reaches_converse_as_thinking_for_models_that_think(gw, rules_upstream):
    client = gw.client()
    client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "hi"}], reasoning_effort="low",
                                   max_completion_tokens=4096, extra_body={"prompt_cache_key": "k1", "store": False})
    body = rules_upstream.requests[-1].body
    assert body["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    assert "prompt_cache_key" not in json.dumps(body) and "store" not in body
    # A model without reasoning: the field is dropped, not an error.
    answer = client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}], reasoning_effort="low")
    assert answer.choices[0].message.content and "additionalModelRequestFields" not in rules_upstream.requests[-1].body


def test_images_go_inline_and_remote_urls_are_refused(gw, rules_upstream):
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    content = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}}]
    gw.client().chat.completions.create(model="claude", messages=[{"role": "user", "content": content}])
    blocks = rules_upstream.requests[-1].body["messages"][0]["content"]
    assert blocks[0] == {"text": "what is this?"} and blocks[1]["image"]["format"] == "png"
    seen = len(rules_upstream.requests)
    response = httpx.post(f"{gw.base_url}/chat/completions", timeout=30, json={"model": "claude", "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest/meta-data"}}]}]})
    assert response.status_code == 400
    assert "data:image/png;base64" in response.json()["error"]["message"]
    assert len(rules_upstream.requests) == seen  # refused before any call


def test_history_tools_unit():
    from llmrouter.utils.bedrock_converse import history_tools

    assert history_tools([{"role": "user", "content": "hi"}]) == []
    tools = history_tools(openclaw_turn_two("c1") + openclaw_turn_two("c2"))
    assert [t["function"]["name"] for t in tools] == ["exec"]
    assert tools[0]["function"]["parameters"] == {"type": "object", "properties": {}}


def test_cassettes_used_here_are_the_reference_copies():
    """Every cassette under cassettes/reference/ is byte-identical to the recording it copies.

    The originals (``shared/reference-cassettes``, see cassettes/README.md) live beside the
    project's development checkouts, not in the repository: a fresh clone elsewhere skips this.
    """
    here = Path(__file__).resolve()
    shared = next((p / "shared" / "reference-cassettes" for p in here.parents if (p / "shared" / "reference-cassettes").is_dir()), None)
    if shared is None:
        pytest.skip("the original recordings (shared/reference-cassettes, on the development machine) are not "
                    "beside this checkout; cassettes/README.md names each file's source")
    copies = sorted(p.relative_to(REFERENCE) for p in REFERENCE.rglob("*.yaml"))
    assert {PYDANTIC_AI, OTEL_STREAM, OTEL_CONVERSE} <= {str(p) for p in copies}
    for relative in copies:
        assert (REFERENCE / relative).read_bytes() == (shared / relative).read_bytes(), relative
