"""Prompt caching on AWS Bedrock: which models take cache points, and where they go.

Everything here works on the **OpenAI-format** request (``messages`` and ``tools``) by placing
OpenAI/Anthropic-style ``cache_control`` markers; LiteLLM's Bedrock Converse transformation
turns each marker into a ``cachePoint`` block right after the marked block (a content part, a
system text part, a tool), with its ``ttl``. So the rules below hold whatever sends the request.

The rules, in the order :func:`with_cache_points` applies them:

1. A model that cannot cache (not in :data:`BEDROCK_CACHE_MODELS`, or ``prompt_cache: off``)
   gets no marker at all: Bedrock rejects a ``cachePoint`` there with "You invoked an
   unsupported model or your request did not allow prompt caching".
2. **Client markers win**: when the client marked anything, its markers are kept as sent and
   nothing is added. More than :data:`MAX_CACHE_POINTS` (Bedrock's limit): tool and system
   markers are kept, then message markers newest first (the newest covers the longest prefix).
3. Otherwise, **automatic points** where OpenClaw's own Bedrock provider puts them: after the
   tools, after the system prompt, and at the end of the newest user or tool-result message
   before a trailing ``<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>`` user message (that one changes
   every turn). A point is placed only where the prefix reaches the model's minimum (below it
   Bedrock caches nothing, so the point would be wasted).
4. TTLs: ``1h`` only for models that have it (else the default ``5m``), and never longer than
   an earlier point's in Bedrock's order tools -> system -> messages (Bedrock rejects that).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from llmrouter import errors

__all__ = [
    "BEDROCK_CACHE_MODELS",
    "CACHE_TTLS",
    "PROMPT_CACHE_MODES",
    "CacheSupport",
    "CachePlan",
    "INTERNAL_CONTEXT_MARK",
    "MAX_CACHE_POINTS",
    "PromptCacheMode",
    "CacheTTL",
    "bedrock_cache_support",
    "cache_point_count",
    "estimate_tokens",
    "with_cache_points",
    "without_cache_markers",
]

PromptCacheMode = Literal["auto", "on", "off"]
CacheTTL = Literal["5m", "1h"]
PROMPT_CACHE_MODES: tuple[PromptCacheMode, ...] = get_args(PromptCacheMode)
CACHE_TTLS: tuple[CacheTTL, ...] = get_args(CacheTTL)

MAX_CACHE_POINTS = 4  # Bedrock's (and Anthropic's) limit per request
INTERNAL_CONTEXT_MARK = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"
_TTL_RANK = {"5m": 0, "1h": 1}
_SYSTEM_ROLES = ("system", "developer")


@dataclass(frozen=True)
class CacheSupport:
    """What one Bedrock model accepts: the minimum cached prefix, a 1-hour TTL, tool points."""

    min_tokens: int
    ttl_1h: bool = False
    tools: bool = True  # a cachePoint in toolConfig.tools (Claude yes, Nova no)


# Bedrock models that take cachePoint blocks (AWS's "Supported models" table for prompt caching).
# First match wins; patterns match the model id without its inference-profile prefix (us., eu.,
# global., ...) or ARN. To add a model, add a line; a model entry in the YAML can also force
# caching on (``prompt_cache: on``, for an application inference profile ARN) or off.
BEDROCK_CACHE_MODELS: tuple[tuple[re.Pattern[str], CacheSupport], ...] = tuple(
    (re.compile(pattern), support)
    for pattern, support in (
        (r"^anthropic\.claude-3-7-sonnet", CacheSupport(1024)),
        (r"^anthropic\.claude-3-5-haiku", CacheSupport(2048)),
        (r"^anthropic\.claude-(opus|sonnet)-4-[0-9]{8}", CacheSupport(1024)),  # Opus 4, Sonnet 4
        (r"^anthropic\.claude-opus-4-1", CacheSupport(1024)),
        (r"^anthropic\.claude-sonnet-4-5", CacheSupport(1024, ttl_1h=True)),
        (r"^anthropic\.claude-haiku-4-5", CacheSupport(4096, ttl_1h=True)),
        (r"^anthropic\.claude-opus-4-5", CacheSupport(4096, ttl_1h=True)),
        (r"^anthropic\.claude-sonnet-4-6", CacheSupport(2048, ttl_1h=True)),
        (r"^anthropic\.claude-opus-4-[6-9]", CacheSupport(4096, ttl_1h=True)),
        # Later Claude generations (Sonnet 5, Opus 5, ...) keep the 4.5 family's rules.
        (r"^anthropic\.claude-(sonnet|opus|haiku)-([5-9]|[1-9][0-9])", CacheSupport(4096, ttl_1h=True)),
        (r"^amazon\.nova-(micro|lite|pro|premier|2-lite|2-pro)", CacheSupport(1000, tools=False)),
    )
)
# `prompt_cache: on` for a model the table does not know (an application inference profile).
_FORCED = CacheSupport(1024)


def _base_model_id(model_id: str) -> str:
    """``us.anthropic.claude-...`` or an inference-profile ARN -> ``anthropic.claude-...``."""
    name = model_id.rsplit("/", 1)[-1].lower()
    head, _, rest = name.partition(".")
    if rest and head not in ("anthropic", "amazon", "meta", "mistral", "cohere", "ai21", "deepseek", "openai", "qwen", "writer"):
        return rest  # a geography prefix: us, eu, apac, global, us-gov, ...
    return name


def bedrock_cache_support(model_id: str, mode: PromptCacheMode = "auto") -> CacheSupport | None:
    """The model's caching rules, or None when it gets no cache points (``off``, or unknown)."""
    if mode == "off":
        return None
    base = _base_model_id(model_id)
    for pattern, support in BEDROCK_CACHE_MODELS:
        if pattern.search(base):
            return support
    return _FORCED if mode == "on" else None


def estimate_tokens(value: Any) -> int:
    """A rough token count (4 characters a token): enough to tell 500 tokens from 5,000."""
    if isinstance(value, str):
        return len(value) // 4
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) // 4


@dataclass(frozen=True)
class CachePlan:
    """What :func:`with_cache_points` did: whose markers went out, how many, how many dropped."""

    source: Literal["client", "auto", "none"]
    points: int = 0
    dropped: int = 0


# --- where markers are ------------------------------------------------------------------------


@dataclass
class _Marker:
    """One ``cache_control`` marker: its place (``holder[key]``) and its group on the wire."""

    group: Literal["tools", "system", "messages"]
    holder: dict[str, Any]
    index: int  # wire order within the request
    parts: list[Any] | None = None  # the content list holding it, when it marks a part

    @property
    def value(self) -> Any:
        return self.holder["cache_control"]


def _leading_system(messages: list[dict[str, Any]]) -> int:
    """How many messages at the start are system prompts (LiteLLM sends those as ``system``)."""
    count = 0
    for message in messages:
        if message.get("role") not in _SYSTEM_ROLES:
            break
        count += 1
    return count


def _markers(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Iterator[_Marker]:
    order = 0
    for tool in tools or ():
        if isinstance(tool, dict) and tool.get("cache_control") is not None:
            yield _Marker("tools", tool, order)
            order += 1
    system_count = _leading_system(messages)
    for i, message in enumerate(messages):
        group: Literal["system", "messages"] = "system" if i < system_count else "messages"
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("cache_control") is not None:
                    yield _Marker(group, part, order, content)
                    order += 1
        if message.get("cache_control") is not None:
            yield _Marker(group, message, order)
            order += 1


def _copied(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Copies deep enough to change markers without touching the caller's request."""
    out = []
    for message in messages:
        message = dict(message)
        if isinstance(message.get("content"), list):
            message["content"] = [dict(p) if isinstance(p, dict) else p for p in message["content"]]
        out.append(message)
    return out, [dict(t) if isinstance(t, dict) else t for t in tools] if tools is not None else None


def without_cache_markers(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The request with every ``cache_control`` removed (a copy; the input is not changed)."""
    messages, tools = _copied(messages, tools)
    for marker in list(_markers(messages, tools)):
        del marker.holder["cache_control"]
    return messages, tools


# --- client markers ---------------------------------------------------------------------------


def _checked_ttl(value: Any) -> str:
    if not isinstance(value, dict) or value.get("type", "ephemeral") != "ephemeral":
        raise errors.bad_request(f'cache_control must be {{"type": "ephemeral"}} (optionally with "ttl": "5m" or "1h"), not {value!r}')
    ttl = value.get("ttl", "5m")
    if ttl not in _TTL_RANK:
        raise errors.bad_request(f"cache_control.ttl must be \"5m\" or \"1h\", not {ttl!r}")
    return ttl


def _keep_within_limit(markers: list[_Marker]) -> list[_Marker]:
    """At most :data:`MAX_CACHE_POINTS`: tool and system markers first, then the newest message ones."""
    fixed = [m for m in markers if m.group != "messages"][-MAX_CACHE_POINTS:]
    room = MAX_CACHE_POINTS - len(fixed)
    in_messages = [m for m in markers if m.group == "messages"]
    kept = fixed + (in_messages[-room:] if room else [])
    return sorted(kept, key=lambda m: m.index)


def _off_blank_text(marker: _Marker) -> None:
    """A marker on a blank text part moves to the block before it.

    LiteLLM leaves blank text blocks out of a Converse request (Bedrock refuses most of them),
    and the marker would go with it; the block before ends the same prefix, less a newline.
    """
    part = marker.holder
    if marker.parts is None or part.get("type") != "text" or str(part.get("text") or "").strip():
        return
    at = next(i for i, p in enumerate(marker.parts) if p is part)
    before = marker.parts[at - 1] if at else None
    if isinstance(before, dict) and before.get("cache_control") is None:
        before["cache_control"] = part.pop("cache_control")
        marker.holder = before


def _client_plan(markers: list[_Marker], support: CacheSupport) -> CachePlan:
    for marker in markers:
        _checked_ttl(marker.value)
        _off_blank_text(marker)
    kept = _keep_within_limit(markers)
    for marker in markers:
        if marker not in kept:
            del marker.holder["cache_control"]
    if not support.tools:  # Nova: no cachePoint in toolConfig
        for marker in [m for m in kept if m.group == "tools"]:
            del marker.holder["cache_control"]
            kept.remove(marker)
    allowed = "1h" if support.ttl_1h else "5m"
    for marker in kept:  # wire order: a point never outlives an earlier one
        ttl = _checked_ttl(marker.value)
        if _TTL_RANK[ttl] > _TTL_RANK[allowed]:
            ttl = allowed
        allowed = ttl
        marker.holder["cache_control"] = _marker(ttl)
    return CachePlan("client", len(kept), len(markers) - len(kept))


# --- automatic points -------------------------------------------------------------------------


def _marker(ttl: str) -> dict[str, str]:
    return {"type": "ephemeral", "ttl": "1h"} if ttl == "1h" else {"type": "ephemeral"}


def _is_internal_context(message: dict[str, Any]) -> bool:
    content = message.get("content")
    if isinstance(content, list):
        content = next((p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"), None)
    return isinstance(content, str) and content.lstrip().startswith(INTERNAL_CONTEXT_MARK)


def _newest_turn(messages: list[dict[str, Any]], first: int) -> int | None:
    """The newest user or tool message, not counting trailing internal-context user messages."""
    end = len(messages)
    while end > first and messages[end - 1].get("role") == "user" and _is_internal_context(messages[end - 1]):
        end -= 1
    for i in range(end - 1, first - 1, -1):
        if messages[i].get("role") in ("user", "tool"):
            return i
    return None


def _mark_end(message: dict[str, Any], ttl: str) -> bool:
    """Marks the last block of a message (a string content becomes one text part)."""
    content = message.get("content")
    if isinstance(content, str) and content:
        message["content"] = [{"type": "text", "text": content, "cache_control": _marker(ttl)}]
        return True
    if isinstance(content, list) and content and isinstance(content[-1], dict):
        content[-1]["cache_control"] = _marker(ttl)
        return True
    return False


def _auto_plan(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, support: CacheSupport, ttl: str) -> CachePlan:
    ttl = ttl if support.ttl_1h else "5m"
    points = 0
    prefix = estimate_tokens(tools) if tools else 0
    if tools and support.tools and prefix >= support.min_tokens:
        tools[-1]["cache_control"] = _marker(ttl)
        points += 1
    system_count = _leading_system(messages)
    if system_count:
        prefix += sum(estimate_tokens(m.get("content")) for m in messages[:system_count])
        if prefix >= support.min_tokens and _mark_end(messages[system_count - 1], ttl):
            points += 1
    newest = _newest_turn(messages, system_count)
    if newest is not None:
        prefix += sum(estimate_tokens(m.get("content")) + estimate_tokens(m.get("tool_calls") or "") for m in messages[system_count : newest + 1])
        if prefix >= support.min_tokens and _mark_end(messages[newest], ttl):
            points += 1
    return CachePlan("auto" if points else "none", points)


def with_cache_points(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    model_id: str,
    *,
    mode: PromptCacheMode = "auto",
    ttl: CacheTTL = "5m",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None, CachePlan]:
    """The request's ``messages`` and ``tools`` with Bedrock-valid ``cache_control`` markers.

    Returns copies (the caller's request is not changed) and a :class:`CachePlan`. See the
    module docstring for the rules. Raises a 400 catalog error for a malformed client marker.
    """
    support = bedrock_cache_support(model_id, mode)
    if support is None:
        stripped, stripped_tools = without_cache_markers(messages, tools)
        return stripped, stripped_tools, CachePlan("none")
    messages, tools = _copied(messages, tools)
    markers = list(_markers(messages, tools))
    if markers:
        return messages, tools, _client_plan(markers, support)
    return messages, tools, _auto_plan(messages, tools, support, ttl)


def cache_point_count(request: Mapping[str, Any]) -> int:
    """How many ``cachePoint`` blocks a Converse request body carries (tools, system, messages)."""
    blocks = [*((request.get("toolConfig") or {}).get("tools") or []), *(request.get("system") or [])]
    for message in request.get("messages") or []:
        blocks.extend(message.get("content") or [])
    return sum(1 for block in blocks if isinstance(block, dict) and "cachePoint" in block)
