"""What prompt caching saves per OpenClaw turn on Claude Sonnet 4.5 (Bedrock), from real requests.

    python -m bench.prompt_cache_savings

Inputs: the real OpenClaw requests in ``tests/fixtures/openclaw/`` (``cap1``: one request of a
plain turn; ``cap2``: the two requests of a turn with one tool call, see that folder's README).
Tokens are counted with the Claude tokenizer LiteLLM ships (Anthropic's published one; Claude
4.5 counts differ by a few percent), per block: tool definitions, system parts, messages.
Costs come from :func:`llmrouter.pricing.usage_cost` (the gateway's one cost function) at
Bedrock's on-demand prices for Claude Sonnet 4.5: $3 input, reads 0.1x, 5-minute writes
1.25x, 1-hour writes 2x, per million tokens.

Where the cache points are (OpenClaw's markers, or the gateway's automatic points: the same
places): after the tools, after the system prompt, after the newest user or tool message. So:

- **without caching** every input token is billed at the input price;
- **first turn** (cold): everything up to the last point is written once;
- **later turn** (warm, within the TTL): the previous turn's prefix is read; only what was
  added since (the previous answer and the new user message, here the recorded ones) is
  written; OpenClaw's internal-context message after the last point stays uncached.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmrouter.pricing import CACHE_WRITE_1H_RATIO, Prices, usage_cost

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "openclaw"
SONNET_45 = Prices(input_price=3.0, output_price=15.0)
SONNET_45_1H = Prices(input_price=3.0, output_price=15.0, cache_write_price=3.0 * CACHE_WRITE_1H_RATIO)


def _tokenizer() -> Any:
    from importlib.resources import files

    from tokenizers import Tokenizer

    return Tokenizer.from_str((files("litellm.litellm_core_utils.tokenizers") / "anthropic_tokenizer.json").read_text())


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def segments(body: dict[str, Any], count: Any) -> list[tuple[str, int, bool]]:
    """(what, tokens, a cache point follows) for each block, in Bedrock's order."""
    out = []
    for tool in body.get("tools") or []:
        out.append((f"tool {tool['function']['name']}", count(_text(tool["function"])), "cache_control" in tool))
    for i, message in enumerate(body["messages"]):
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"text": content or ""}]
        for part in parts:
            text = part.get("text") or ""
            out.append((f"{message['role']} #{i}", count(text), "cache_control" in part))
        if message.get("tool_calls"):
            out.append((f"{message['role']} #{i} tool_calls", count(_text(message["tool_calls"])), False))
    return out


def _usage(read: int, written: int, uncached: int) -> dict[str, Any]:
    return {"prompt_tokens": read + written + uncached, "completion_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": written}}


def turn_costs(requests: list[dict[str, Any]], prices: Prices, count: Any) -> dict[str, Any]:
    """Input tokens and dollars of one turn (its requests), without and with caching."""
    total = cold = warm = 0.0
    tokens = 0
    cached_prefix = 0  # what the previous request of this turn left in the cache
    first_prefix = 0
    for n, body in enumerate(requests):
        blocks = segments(body, count)
        size = sum(t for _, t, _ in blocks)
        last_point = max((sum(t for _, t, _ in blocks[: i + 1]) for i, (_, _, p) in enumerate(blocks) if p), default=0)
        tokens += size
        total += usage_cost(_usage(0, 0, size), prices)
        cold += usage_cost(_usage(cached_prefix, max(last_point - cached_prefix, 0), size - max(last_point, cached_prefix)), prices)
        if n == 0:
            first_prefix = last_point
        cached_prefix = last_point
    # A later turn: the same requests, the previous turn's prefix already cached. What it adds
    # to the conversation is the recorded user message (and a previous answer of that size).
    new_user = next(t for what, t, point in reversed(segments(requests[0], count)) if point and what.startswith("user"))
    for n, body in enumerate(requests):
        blocks = segments(body, count)
        size = sum(t for _, t, _ in blocks)
        last_point = max((sum(t for _, t, _ in blocks[: i + 1]) for i, (_, _, p) in enumerate(blocks) if p), default=0)
        read = first_prefix - 2 * new_user if n == 0 else cached_prefix
        written = last_point - read
        warm += usage_cost(_usage(read, written, size - last_point), prices)
        cached_prefix = last_point
    return {"requests": len(requests), "input_tokens": tokens, "no_cache": total, "first_turn": cold, "later_turn": warm}


def main() -> None:
    count = _tokenizer()

    def tokens(text: str) -> int:
        return len(count.encode(text).ids)

    cap1 = [json.loads((FIXTURES / "cap1-cachecontrol-short.jsonl").read_text().splitlines()[0])["body"]]
    cap2 = [json.loads(line)["body"] for line in (FIXTURES / "cap2-cachecontrol-long-toolloop.jsonl").read_text().splitlines()]
    blocks = segments(cap1[0], tokens)
    tools = sum(t for what, t, _ in blocks if what.startswith("tool "))
    system = sum(t for what, t, _ in blocks if what.startswith("system"))
    print(f"OpenClaw request (cap1): tools {tools} tokens, system prompt {system} tokens, "
          f"messages {sum(t for _, t, _ in blocks) - tools - system} tokens")
    print(f"{'turn':<34} {'requests':>8} {'input tok':>9} {'no cache':>9} {'1st turn':>9} {'later':>9} {'saved':>6}")
    for name, requests, prices in (("plain turn, 5m (cap1)", cap1, SONNET_45), ("tool-loop turn, 5m (cap2)", cap2, SONNET_45),
                                   ("tool-loop turn, 1h (cap2)", cap2, SONNET_45_1H)):
        c = turn_costs(requests, prices, tokens)
        saved = 1 - c["later_turn"] / c["no_cache"]
        print(f"{name:<34} {c['requests']:>8} {c['input_tokens']:>9} ${c['no_cache']:>8.4f} ${c['first_turn']:>8.4f} "
              f"${c['later_turn']:>8.4f} {saved:>6.0%}")


if __name__ == "__main__":
    main()
