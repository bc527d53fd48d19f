"""Prompt caching through the gateway: the Converse request's cache points, and the usage.

Answers come from real Bedrock recordings with cache points (``cassettes/reference/cache/``,
see its README) or from the rule-enforcing loopback Bedrock upstream of the end-to-end check
(:mod:`e2e.upstreams`, cache rules in :mod:`e2e.bedrock_cache_rules`). What the gateway sends is
captured (vcrpy's request hook, or the upstream's log) and compared with what real clients sent.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from conftest import CASSETTES, ROOT, sse_events
from e2e.upstreams import BedrockUpstream
from llmrouter.prompt_cache import cache_point_count

PYDANTIC_AI = CASSETTES / "reference" / "cache" / "pydantic-ai_test_bedrock_cache_write_and_read.yaml"
DD_TRACE = CASSETTES / "reference" / "cache" / "dd-trace-py_bedrock_converse_stream_prompt_caching.yaml"
TITAN = CASSETTES / "reference" / "opentelemetry-python-contrib" / "botocore" / "test_converse_with_content.yaml"
FIXTURES = ROOT / "tests" / "fixtures" / "openclaw"
SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MARK = {"type": "ephemeral"}


def servable(path: Path, tmp_path: Path) -> Path:
    """The cassette as plain vcrpy replays it: pydantic-ai stores responses as ``parsed_body``,
    which becomes ``body.string`` here (a copy; the recorded file is not changed)."""
    data = yaml.safe_load(path.read_text())
    for interaction in data["interactions"]:
        response = interaction["response"]
        if "parsed_body" in response:
            response["body"] = {"string": json.dumps(response.pop("parsed_body"))}
            response["headers"].pop("content-length", None)  # the JSON is re-serialized
    out = tmp_path / path.name
    out.write_text(yaml.safe_dump(data))
    return out


@contextlib.contextmanager
def capture(path: Path) -> Iterator[list[dict]]:
    """Replay (method + URI) and collect the Converse bodies the gateway sent, one per call."""
    import vcr

    sent: list[dict] = []
    player = vcr.VCR(match_on=["method", "scheme", "host", "port", "path", "query"], record_mode="none", ignore_localhost=True)
    with player.use_cassette(str(path)) as cassette:
        play = cassette.play_response

        def played(request):  # noqa: ANN001, ANN202 - each request the gateway made, as it made it
            sent.append(json.loads(request.body))
            return play(request)

        cassette.play_response = played
        yield sent


def recorded_requests(path: Path) -> list[dict]:
    return [json.loads(i["request"]["body"]) for i in yaml.safe_load(path.read_text())["interactions"]]


def kinds(blocks: list[dict]) -> list[object]:
    """Block kinds in order, cache points with their value; blank text left out (LiteLLM drops it)."""
    return [b if "cachePoint" in b else next(iter(b)) for b in blocks if not ("text" in b and not b["text"].strip())]


def layout(body: dict) -> dict[str, object]:
    return {
        "tools": kinds((body.get("toolConfig") or {}).get("tools") or []),
        "system": kinds(body.get("system") or []),
        "messages": [(m["role"], kinds(m["content"])) for m in body["messages"]],
    }


def openclaw(name: str, index: int = 0) -> dict:
    if name.endswith(".json"):
        return json.loads((FIXTURES / name).read_text())
    return json.loads((FIXTURES / name).read_text().splitlines()[index])["body"]


@pytest.fixture(scope="module")
def rules_upstream() -> Iterator[BedrockUpstream]:
    with BedrockUpstream() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gw(gateway_factory, rules_upstream):  # noqa: ANN001, ANN201
    bedrock = {"provider": "bedrock", "aws_region": "us-east-1"}
    return gateway_factory({"llms": {
        "sonnet-45": {**bedrock, "model": SONNET_45},
        "sonnet-37": {**bedrock, "model": "us.anthropic.claude-3-7-sonnet-20250219-v1:0"},
        "titan": {**bedrock, "model": "amazon.titan-text-lite-v1"},
        "loop-sonnet": {**bedrock, "model": SONNET_45, "base_url": rules_upstream.url},
        "loop-titan": {**bedrock, "model": "amazon.titan-text-express-v1", "base_url": rules_upstream.url},
    }})


def post(gw, body: dict) -> httpx.Response:  # noqa: ANN001
    return httpx.post(f"{gw.base_url}/chat/completions", json=body, timeout=60)


def stream_usage(gw, body: dict) -> dict:  # noqa: ANN001
    response = post(gw, {**body, "stream": True, "stream_options": {"include_usage": True}})
    assert response.status_code == 200, response.text
    events = [e for e in sse_events(response.text) if e != "[DONE]"]
    assert events[-1]["choices"] == []
    return events[-1]["usage"]


# --- against the real recordings ----------------------------------------------------------------

PYDANTIC_AI_REQUEST = {
    "model": "sonnet-45",
    "messages": [
        {"role": "system", "content": [{"type": "text", "text": "YOU MUST RESPONSE ONLY WITH SINGLE NUMBER\n" * 50, "cache_control": MARK}]},
        {"role": "user", "content": [
            {"type": "text", "text": "Newer response with something except single number\n" * 10},
            {"type": "file", "file": {"file_data": "data:text/plain;base64,WW91IGFyZSBhIGdyZWF0IG1hdGhlbWF0aWNpYW4=", "filename": "Document 1"}},
            {"type": "text", "text": "\n", "cache_control": MARK},
            {"type": "text", "text": "What is 10 + 11?", "cache_control": MARK},
        ]},
    ],
    "tools": [
        {"type": "function", "function": {"name": "catalog_lookup", "parameters": {"additionalProperties": False, "properties": {}, "type": "object"}}},
        {"type": "function", "function": {"name": "diagnostics", "parameters": {"additionalProperties": False, "properties": {}, "type": "object"}}, "cache_control": MARK},
    ],
    "tool_choice": "auto",
}


def test_converse_carries_the_cache_points_the_recording_has_and_usage_says_write_then_read(gw, tmp_path) -> None:  # noqa: ANN001
    recorded = recorded_requests(PYDANTIC_AI)
    with capture(servable(PYDANTIC_AI, tmp_path)) as sent:
        first, second = post(gw, PYDANTIC_AI_REQUEST), post(gw, PYDANTIC_AI_REQUEST)
    assert first.status_code == second.status_code == 200, first.text
    assert [layout(body) for body in sent] == [layout(body) for body in recorded]
    assert [cache_point_count(body) for body in sent] == [4, 4]
    # Bedrock: inputTokens 2, cacheWrite 1322, then cacheRead 1322; prompt_tokens counts them all
    assert first.json()["usage"] == {"prompt_tokens": 1324, "completion_tokens": 5, "total_tokens": 1329,
                                     "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 1322}}
    assert second.json()["usage"] == {"prompt_tokens": 1324, "completion_tokens": 5, "total_tokens": 1329,
                                      "prompt_tokens_details": {"cached_tokens": 1322, "cache_write_tokens": 0}}


DD_TRACE_RECORDED = recorded_requests(DD_TRACE)


def dd_trace_request(index: int) -> dict:
    """The recorded ConverseStream request as an OpenAI request, the system text marked."""
    body = DD_TRACE_RECORDED[index]
    return {"model": "sonnet-37", "max_tokens": 1000, "temperature": 0.7, "top_p": 0.9, "messages": [
        {"role": "system", "content": [{"type": "text", "text": body["system"][0]["text"], "cache_control": MARK}]},
        {"role": "user", "content": body["messages"][0]["content"][0]["text"]},
    ]}


def test_converse_stream_usage_chunk_says_write_then_read(gw) -> None:  # noqa: ANN001
    with capture(DD_TRACE) as sent:
        first, second = stream_usage(gw, dd_trace_request(0)), stream_usage(gw, dd_trace_request(1))
    for ours, theirs in zip(sent, DD_TRACE_RECORDED, strict=True):
        assert ours["system"] == theirs["system"] and ours["messages"] == theirs["messages"]
    assert first == {"prompt_tokens": 11 + 1028, "completion_tokens": 236, "total_tokens": 1275,
                     "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 1028}}
    assert second == {"prompt_tokens": 12 + 1028, "completion_tokens": 250, "total_tokens": 1290,
                      "prompt_tokens_details": {"cached_tokens": 1028, "cache_write_tokens": 0}}


def test_responses_api_reports_cached_input(gw) -> None:  # noqa: ANN001
    """``/v1/responses`` (no markers in its shape: the automatic points apply)."""
    def ask(index: int) -> dict:
        body = DD_TRACE_RECORDED[index]
        response = httpx.post(f"{gw.base_url}/responses", timeout=60, json={
            "model": "sonnet-37", "instructions": body["system"][0]["text"], "input": body["messages"][0]["content"][0]["text"],
            "stream": True})  # the recording is ConverseStream
        assert response.status_code == 200, response.text
        completed = [e for e in sse_events(response.text) if isinstance(e, dict) and e.get("type") == "response.completed"]
        return completed[0]["response"]["usage"]

    with capture(DD_TRACE) as sent:
        first, second = ask(0), ask(1)
    assert [layout(b)["system"] for b in sent] == [["text", {"cachePoint": {"type": "default"}}]] * 2
    assert first["input_tokens"] == 1039 and first["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 1028}
    assert second["input_tokens"] == 1040 and second["input_tokens_details"] == {"cached_tokens": 1028, "cache_write_tokens": 0}


def test_a_model_without_caching_gets_no_cache_points(gw) -> None:  # noqa: ANN001
    marked = {"model": "titan", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Say this is a test", "cache_control": MARK}]}]}
    with capture(TITAN) as sent:
        response = post(gw, marked)
    assert response.status_code == 200, response.text
    assert cache_point_count(sent[0]) == 0 and sent[0]["messages"] == recorded_requests(TITAN)[0]["messages"]


# --- against the rule-enforcing loopback upstream -------------------------------------------------


def test_openclaw_markers_go_out_as_cache_points_and_the_next_turn_reads_them(gw, rules_upstream) -> None:  # noqa: ANN001
    request = {**openclaw("cap1-cachecontrol-short.jsonl"), "model": "loop-sonnet"}
    seen = len(rules_upstream.requests)
    first = post(gw, {**request, "stream": False})
    again = stream_usage(gw, request)
    assert first.status_code == 200, first.text
    sent = rules_upstream.requests[seen:]
    assert [r.rejected for r in sent] == [None, None]
    assert layout(sent[0].body)["system"] == ["text", {"cachePoint": {"type": "default"}}, "text"]  # the stable part only
    assert cache_point_count(sent[0].body) == 3
    usage = first.json()["usage"]
    details = usage["prompt_tokens_details"]
    assert details["cache_write_tokens"] > 5000 and usage["prompt_tokens"] > details["cache_write_tokens"]
    # the same prefix again: read, and prompt_tokens still counts everything
    assert again["prompt_tokens_details"]["cached_tokens"] == details["cache_write_tokens"] + details["cached_tokens"]
    assert again["prompt_tokens"] == usage["prompt_tokens"]


def test_openclaw_without_markers_gets_automatic_points(gw, rules_upstream) -> None:  # noqa: ANN001
    seen = len(rules_upstream.requests)
    for name in ("chat-turn1.json", "chat-turn2.json"):
        response = post(gw, {**openclaw(name), "model": "loop-sonnet", "stream": False})
        assert response.status_code == 200, response.text
    first, second = (r.body for r in rules_upstream.requests[seen:])
    assert layout(first)["tools"][-1] == layout(first)["system"][-1] == {"cachePoint": {"type": "default"}}
    # the point sits after the user's text, before OpenClaw's internal-context text
    assert layout(first)["messages"] == [("user", ["text", {"cachePoint": {"type": "default"}}, "text"])]
    assert layout(second)["messages"][-1] == ("user", ["toolResult", {"cachePoint": {"type": "default"}}, "text"])
    assert response.json()["usage"]["prompt_tokens_details"]["cached_tokens"] > 0


def test_five_markers_send_four(gw, rules_upstream) -> None:  # noqa: ANN001
    request = copy.deepcopy(openclaw("cap1-cachecontrol-short.jsonl"))
    request["messages"][2]["content"][0]["cache_control"] = MARK  # the 4th
    request["messages"][1:1] = [{"role": "user", "content": [{"type": "text", "text": "earlier", "cache_control": MARK}]},
                                {"role": "assistant", "content": "ok"}]  # the 5th, the oldest message marker
    response = post(gw, {**request, "model": "loop-sonnet", "stream": False})
    assert response.status_code == 200, response.text
    body = rules_upstream.requests[-1].body
    assert rules_upstream.requests[-1].rejected is None and cache_point_count(body) == 4
    assert kinds(body["messages"][0]["content"]) == ["text"]  # "earlier" lost its point


def test_a_non_caching_model_through_the_rules_upstream_is_accepted(gw, rules_upstream) -> None:  # noqa: ANN001
    response = post(gw, {**openclaw("cap1-cachecontrol-short.jsonl"), "model": "loop-titan", "stream": False})
    assert response.status_code == 200, response.text
    assert rules_upstream.requests[-1].rejected is None and cache_point_count(rules_upstream.requests[-1].body) == 0


def test_call_api_results_say_what_was_cached(rules_upstream) -> None:  # noqa: ANN001
    from llmrouter.utils.api_calling import call_api

    turn = openclaw("chat-turn1.json")
    request = {"service": "bedrock", "api_name": SONNET_45, "aws_region": "us-east-1", "api_endpoint": rules_upstream.url,
               "messages": turn["messages"] + [{"role": "user", "content": "token=call-api-cache"}], "tools": turn["tools"]}
    first, second = call_api(request), call_api(request)  # (tools and system may be cached already)
    assert first["cache_write_tokens"] > 0 and first["cached_tokens"] + first["cache_write_tokens"] > 5000
    assert second["cached_tokens"] == first["cached_tokens"] + first["cache_write_tokens"] and second["cache_write_tokens"] == 0
    assert second["prompt_tokens"] == first["prompt_tokens"]


def test_prompt_cache_on_forces_points_for_a_model_the_table_does_not_know(rules_upstream) -> None:  # noqa: ANN001
    """An application inference profile: no model id to look up, so the YAML says `on`."""
    from llmrouter.utils.api_calling import call_api

    profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/sonnet45"
    turn = openclaw("chat-turn1.json")
    request = {"service": "bedrock", "api_name": profile, "aws_region": "us-east-1", "api_endpoint": rules_upstream.url,
               "messages": turn["messages"], "tools": turn["tools"]}
    call_api({**request, "prompt_cache": "on"})
    assert cache_point_count(rules_upstream.requests[-1].body) == 3
    call_api(request)  # auto: unknown to the table, so no points
    assert cache_point_count(rules_upstream.requests[-1].body) == 0


def test_the_copies_used_here_are_byte_identical_to_the_shared_originals() -> None:
    shared = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "reference-cassettes").exists()), None)
    if shared is None:
        pytest.skip("../shared is not beside this checkout")
    for name in (PYDANTIC_AI.name, DD_TRACE.name):
        assert (CASSETTES / "reference" / "cache" / name).read_bytes() == (shared / "reference-cassettes" / "cache" / name).read_bytes()
    for name in ("cap1-cachecontrol-short.jsonl", "cap2-cachecontrol-long-toolloop.jsonl"):
        assert (FIXTURES / name).read_bytes() == (shared / "openclaw-requests" / name).read_bytes()
