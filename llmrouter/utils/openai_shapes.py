"""OpenAI wire shapes: turn LiteLLM objects or provider dicts into clean OpenAI dicts.

LiteLLM's ``ModelResponse`` / ``ModelResponseStream`` carry extra keys (provider-specific
fields, token details whose shape changes between releases). Clients expect OpenAI's shape,
so everything that leaves the gateway goes through these functions.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__ = ["normalize_chunk", "normalize_completion", "normalize_usage", "completion_text", "new_id", "usage_cache_counts"]


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _as_dict(obj: Any) -> dict[str, Any]:
    """A dict view of a dict or a pydantic object; anything else (a provider's oddity) is {}."""
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        return dump(exclude_none=False)
    return {}


def _count(value: Any) -> int:
    """A token count or timestamp as an int; a provider's malformed value counts as 0, so an
    odd usage block never turns a good answer into a gateway error."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)) and value == value and abs(value) < 2**63:
        return max(0, int(value))
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def normalize_usage(usage: Any) -> dict[str, Any] | None:
    """OpenAI usage: ``{prompt_tokens, completion_tokens, total_tokens[, prompt_tokens_details]}``.

    ``prompt_tokens`` counts every input token, cached or not. Bedrock's ``inputTokens``
    excludes cache reads and writes, so they are added back; ``prompt_tokens_details`` then
    says how many were read from the prompt cache (``cached_tokens``) and written to it
    (``cache_write_tokens``), which is what OpenClaw reads. An OpenAI-compatible provider's own
    ``prompt_tokens_details`` counts come back as it sent them.
    """
    if usage is None:
        return None
    data = _as_dict(usage)
    details_in = _as_dict(data.get("prompt_tokens_details") or {})
    details = {k: _count(details_in[k]) for k in _PROMPT_DETAILS if details_in.get(k) is not None}
    if "inputTokens" in data or "outputTokens" in data:  # Bedrock's own usage block
        read = _count(data.get("cacheReadInputTokens") or data.get("cacheReadInputTokenCount"))
        written = _count(data.get("cacheWriteInputTokens") or data.get("cacheWriteInputTokenCount"))
        prompt = _count(data.get("inputTokens")) + read + written
        completion = _count(data.get("outputTokens"))
        total = _count(data.get("totalTokens")) or prompt + completion
        details.update(cached_tokens=read, cache_write_tokens=written)
    else:
        prompt = _count(data.get("prompt_tokens"))
        completion = _count(data.get("completion_tokens"))
        total = _count(data.get("total_tokens")) or prompt + completion
        # LiteLLM's Usage (Bedrock, Anthropic) also says it with Anthropic's names.
        if "cache_read_input_tokens" in data or "cache_creation_input_tokens" in data:
            details.setdefault("cached_tokens", _count(data.get("cache_read_input_tokens")))
            written = details_in.get("cache_write_tokens") or details_in.get("cache_creation_tokens") or data.get("cache_creation_input_tokens")
            details["cache_write_tokens"] = _count(written)
    out: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    if details:
        out["prompt_tokens_details"] = details
    return out


# OpenAI's prompt_tokens_details counts, and the cache writes OpenClaw and Anthropic-style clients read.
_PROMPT_DETAILS = ("cached_tokens", "cache_write_tokens", "audio_tokens")


def usage_cache_counts(usage: dict[str, Any] | None) -> tuple[int, int]:
    """``(cached_tokens, cache_write_tokens)`` of a normalized usage (0, 0 when not said)."""
    details = (usage or {}).get("prompt_tokens_details") or {}
    return _count(details.get("cached_tokens")), _count(details.get("cache_write_tokens"))


def _tool_calls(raw: Any, streaming: bool) -> list[dict[str, Any]] | None:
    if not raw:
        return None
    calls = []
    for i, call in enumerate(_list(raw)):
        data = _as_dict(call)
        fn = _as_dict(data.get("function") or {})
        out: dict[str, Any] = {}
        if streaming:
            out["index"] = data.get("index", i) if data.get("index") is not None else i
        if data.get("id"):
            out["id"] = data["id"]
        if data.get("id") or not streaming:
            out["type"] = data.get("type") or "function"
        function: dict[str, Any] = {}
        if fn.get("name"):
            function["name"] = fn["name"]
        if fn.get("arguments") is not None:
            function["arguments"] = fn["arguments"]
        out["function"] = function
        calls.append(out)
    return calls


def normalize_chunk(chunk: Any, model: str | None = None) -> dict[str, Any]:
    """A ``chat.completion.chunk`` dict with only OpenAI's keys."""
    data = _as_dict(chunk)
    choices = []
    for choice in _list(data.get("choices")):
        c = _as_dict(choice)
        delta_in = _as_dict(c.get("delta") or {})
        delta: dict[str, Any] = {}
        if delta_in.get("role"):
            delta["role"] = delta_in["role"]
        if delta_in.get("content") is not None:
            delta["content"] = delta_in["content"]
        tool_calls = _tool_calls(delta_in.get("tool_calls"), streaming=True)
        if tool_calls:
            delta["tool_calls"] = tool_calls
        choices.append(
            {
                "index": c.get("index", 0) or 0,
                "delta": delta,
                "logprobs": None,
                "finish_reason": c.get("finish_reason"),
            }
        )
    out: dict[str, Any] = {
        "id": data.get("id") or new_id(),
        "object": "chat.completion.chunk",
        "created": _count(data.get("created")) or int(time.time()),
        "model": model or data.get("model") or "",
        "choices": choices,
    }
    usage = normalize_usage(data.get("usage"))
    if usage is not None:
        out["usage"] = usage
    return out


def normalize_completion(resp: Any, model: str | None = None) -> dict[str, Any]:
    """A ``chat.completion`` dict with only OpenAI's keys and a ``usage`` block."""
    data = _as_dict(resp)
    choices = []
    for choice in _list(data.get("choices")):
        c = _as_dict(choice)
        msg_in = _as_dict(c.get("message") or {})
        message: dict[str, Any] = {"role": msg_in.get("role") or "assistant", "content": msg_in.get("content")}
        tool_calls = _tool_calls(msg_in.get("tool_calls"), streaming=False)
        if tool_calls:
            message["tool_calls"] = tool_calls
        choices.append(
            {"index": c.get("index", 0) or 0, "message": message, "logprobs": None, "finish_reason": c.get("finish_reason")}
        )
    return {
        "id": data.get("id") or new_id(),
        "object": "chat.completion",
        "created": _count(data.get("created")) or int(time.time()),
        "model": model or data.get("model") or "",
        "choices": choices,
        "usage": normalize_usage(data.get("usage")) or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def completion_text(completion: dict[str, Any]) -> str:
    choices = completion.get("choices") or []
    if not choices:
        return ""
    return choices[0].get("message", {}).get("content") or ""
