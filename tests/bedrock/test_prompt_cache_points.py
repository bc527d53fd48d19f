"""Where cache points go (llmrouter.prompt_cache), on real OpenClaw requests.

Fixtures (tests/fixtures/openclaw/, see its README): ``chat-turn1.json`` / ``chat-turn2.json``
are what OpenClaw sends by default (no caching hint); ``cap1`` / ``cap2`` are what it sends
with ``compat.cacheControlFormat: "anthropic"`` (markers on the last tool, the stable system
part and the newest user or tool message; ``cap2`` with ``"ttl": "1h"``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from llmrouter import errors
from llmrouter.prompt_cache import (
    INTERNAL_CONTEXT_MARK,
    bedrock_cache_support,
    with_cache_points,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openclaw"
SONNET_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET_37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
EPHEMERAL = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}


def openclaw(name: str, index: int = 0) -> dict:
    if name.endswith(".json"):
        return json.loads((FIXTURES / name).read_text())
    return json.loads((FIXTURES / name).read_text().splitlines()[index])["body"]


def marks(messages: list[dict], tools: list[dict] | None) -> dict[str, list]:
    """Where the markers are: tool names, and (message index, part index) pairs."""
    out: dict[str, list] = {"tools": [], "messages": []}
    for tool in tools or []:
        if "cache_control" in tool:
            out["tools"].append((tool["function"]["name"], tool["cache_control"]))
    for i, message in enumerate(messages):
        content = message.get("content")
        for j, part in enumerate(content if isinstance(content, list) else []):
            if "cache_control" in part:
                out["messages"].append((i, j, part["cache_control"]))
    return out


@pytest.mark.parametrize(("model_id", "capable", "one_hour"), [
    (SONNET_45, True, True),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", True, True),
    ("global.anthropic.claude-haiku-4-5-20251001-v1:0", True, True),
    ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", True, False),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", True, False),
    ("anthropic.claude-sonnet-4-20250514-v1:0", True, False),
    ("anthropic.claude-opus-4-1-20250805-v1:0", True, False),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-5-20251101-v1:0", True, True),
    ("us.amazon.nova-micro-v1:0", True, False),
    ("amazon.titan-text-lite-v1", False, False),
    ("anthropic.claude-3-haiku-20240307-v1:0", False, False),
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", False, False),
    ("meta.llama3-1-8b-instruct-v1:0", False, False),
])
def test_the_table_knows_which_models_cache(model_id: str, capable: bool, one_hour: bool) -> None:
    support = bedrock_cache_support(model_id)
    assert (support is not None) is capable
    assert bool(support and support.ttl_1h) is one_hour


def test_a_model_entry_forces_caching_on_or_off() -> None:
    profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    assert bedrock_cache_support(profile) is None
    assert bedrock_cache_support(profile, "on") is not None
    assert bedrock_cache_support(SONNET_45, "off") is None


def test_the_table_agrees_with_litellms_model_map() -> None:
    """LiteLLM's Converse transformation drops points (and 1h TTLs) its own map says a model
    lacks: the table must not promise what LiteLLM would silently drop."""
    from litellm.llms.bedrock.common_utils import bedrock_model_accepts_cache_points, supports_bedrock_prompt_cache_ttl

    for model_id in ("anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0",
                     "anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0",
                     "anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-opus-4-5-20251101-v1:0",
                     "anthropic.claude-3-5-sonnet-20240620-v1:0", "amazon.nova-pro-v1:0"):
        ours = bedrock_cache_support(model_id)
        assert bedrock_model_accepts_cache_points(model_id) is (ours is not None), model_id
        assert supports_bedrock_prompt_cache_ttl(model_id) is bool(ours and ours.ttl_1h), model_id


def test_automatic_points_where_openclaws_bedrock_provider_puts_them() -> None:
    request = openclaw("chat-turn1.json")
    before = copy.deepcopy(request)
    messages, tools, plan = with_cache_points(request["messages"], request["tools"], SONNET_45)
    assert request == before  # the client's request is not changed
    assert plan.source == "auto" and plan.points == 3
    found = marks(messages, tools)
    assert found["tools"] == [(request["tools"][-1]["function"]["name"], EPHEMERAL)]
    # after the system prompt, and at the end of the user's message, not on the trailing
    # internal-context message (it changes every turn)
    assert found["messages"] == [(0, 0, EPHEMERAL), (1, 0, EPHEMERAL)]
    assert messages[0]["content"][0]["text"] == request["messages"][0]["content"]
    assert messages[-1]["content"][0]["text"].startswith(INTERNAL_CONTEXT_MARK)


def test_automatic_point_moves_to_the_newest_tool_result() -> None:
    request = openclaw("chat-turn2.json")
    messages, tools, plan = with_cache_points(request["messages"], request["tools"], SONNET_45)
    roles = [m["role"] for m in request["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    assert [(i, j) for i, j, _ in marks(messages, tools)["messages"]] == [(0, 0), (3, 0)]
    assert plan.points == 3


def test_automatic_ttl_is_the_configured_one_where_the_model_has_it() -> None:
    request = openclaw("chat-turn1.json")
    messages, tools, _ = with_cache_points(request["messages"], request["tools"], SONNET_45, ttl="1h")
    assert {str(m[-1]) for m in marks(messages, tools)["messages"]} == {str(HOUR)}
    messages, tools, _ = with_cache_points(request["messages"], request["tools"], SONNET_37, ttl="1h")
    assert all(m[-1] == EPHEMERAL for m in marks(messages, tools)["messages"])  # 3.7 has no 1h TTL


def test_a_short_request_gets_no_points() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    out, tools, plan = with_cache_points(messages, None, SONNET_45)
    assert plan.points == 0 and out == messages  # below 1,024 tokens Bedrock caches nothing


def test_client_markers_win_and_go_as_sent() -> None:
    request = openclaw("cap1-cachecontrol-short.jsonl")
    messages, tools, plan = with_cache_points(request["messages"], request["tools"], SONNET_45)
    assert plan.source == "client" and plan.points == 3 and plan.dropped == 0
    assert marks(messages, tools) == marks(request["messages"], request["tools"])
    # the stable system part is marked, the dynamic one not: OpenClaw's split is kept
    assert [("cache_control" in p) for p in messages[0]["content"]] == [True, False]


@pytest.mark.parametrize("index", [0, 1])
def test_client_one_hour_markers_kept_where_the_model_has_them(index: int) -> None:
    request = openclaw("cap2-cachecontrol-long-toolloop.jsonl", index)
    messages, tools, plan = with_cache_points(request["messages"], request["tools"], SONNET_45)
    assert plan.points == 3
    found = marks(messages, tools)
    assert [m[-1] for m in found["messages"]] == [HOUR, HOUR] and found["tools"][0][1] == HOUR
    if index == 1:  # the tool loop's second request marks the tool result
        assert messages[found["messages"][-1][0]]["role"] == "tool"
    messages, tools, _ = with_cache_points(request["messages"], request["tools"], SONNET_37)
    found = marks(messages, tools)
    assert [m[-1] for m in found["messages"]] == [EPHEMERAL, EPHEMERAL] and found["tools"][0][1] == EPHEMERAL


def _five_markers() -> tuple[list[dict], list[dict]]:
    request = openclaw("cap1-cachecontrol-short.jsonl")
    messages = copy.deepcopy(request["messages"])
    messages[2]["content"][0]["cache_control"] = dict(EPHEMERAL)  # the internal context too
    messages.insert(1, {"role": "user", "content": [{"type": "text", "text": "earlier", "cache_control": dict(EPHEMERAL)}]})
    messages.insert(2, {"role": "assistant", "content": "ok"})
    return messages, request["tools"]


def test_five_markers_send_four_keeping_the_newest_message_markers() -> None:
    messages, tools = _five_markers()
    assert sum(len(v) for v in marks(messages, tools).values()) == 5
    out, out_tools, plan = with_cache_points(messages, tools, SONNET_45)
    assert plan.points == 4 and plan.dropped == 1
    found = marks(out, out_tools)
    assert len(found["tools"]) == 1  # tools and system kept
    assert [(i, j) for i, j, _ in found["messages"]] == [(0, 0), (3, 0), (4, 0)]  # "earlier" (1) dropped


def test_a_later_point_never_outlives_an_earlier_one() -> None:
    request = openclaw("cap2-cachecontrol-long-toolloop.jsonl")
    tools = copy.deepcopy(request["tools"])
    tools[-1]["cache_control"] = dict(EPHEMERAL)  # tools 5m, then system and messages 1h
    messages, out_tools, _ = with_cache_points(request["messages"], tools, SONNET_45)
    assert [m[-1] for m in marks(messages, out_tools)["messages"]] == [EPHEMERAL, EPHEMERAL]


def test_models_without_caching_get_no_markers_at_all() -> None:
    request = openclaw("cap1-cachecontrol-short.jsonl")
    for model_id, mode in (("amazon.titan-text-lite-v1", "auto"), (SONNET_45, "off")):
        messages, tools, plan = with_cache_points(request["messages"], request["tools"], model_id, mode=mode)
        assert plan.points == 0
        assert marks(messages, tools) == {"tools": [], "messages": []}
    assert marks(request["messages"], request["tools"])["tools"]  # the client's copy untouched


def test_nova_takes_no_tool_point() -> None:
    request = openclaw("cap1-cachecontrol-short.jsonl")
    messages, tools, plan = with_cache_points(request["messages"], request["tools"], "us.amazon.nova-pro-v1:0")
    assert marks(messages, tools)["tools"] == [] and plan.points == 2
    request = openclaw("chat-turn1.json")
    messages, tools, plan = with_cache_points(request["messages"], request["tools"], "us.amazon.nova-pro-v1:0")
    assert marks(messages, tools)["tools"] == [] and plan.points == 2


@pytest.mark.parametrize("marker", [{"type": "persistent"}, {"type": "ephemeral", "ttl": "2h"}, "yes"])
def test_a_malformed_marker_is_a_400(marker: object) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": marker}]}]
    with pytest.raises(errors.GatewayError) as caught:
        with_cache_points(messages, None, SONNET_45)
    assert caught.value.status == 400 and "cache_control" in caught.value.message
