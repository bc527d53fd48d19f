"""Bedrock's prompt-cache rules and accounting, for the loopback Bedrock upstream.

Real Bedrock, as its documentation and the recordings in ``cassettes/reference/cache/`` show:

- ``cachePoint`` blocks sit in ``toolConfig.tools``, ``system`` and message ``content``; at most
  4 per request; a ``ttl`` ("5m" default, "1h" on the models that have it) may not be longer
  than an earlier point's, in the order tools -> system -> messages;
- a model without prompt caching rejects any cachePoint (400 ValidationException, the text
  below, as users of Copilot, Cline and Positron have reported it verbatim);
- a point caches only when the prefix before it reaches the model's minimum (below it the
  request succeeds and nothing is cached);
- a later request reads the longest cached prefix found at a block boundary up to 20 blocks
  before any of its points; the rest up to its last point is written. ``inputTokens`` counts
  only what is neither read nor written.

The model list here is the upstream's own (what AWS documents), deliberately not imported
from :mod:`llmrouter.prompt_cache`: the upstream checks the gateway, so it must not share its
table. Token counts are estimates (4 bytes of JSON a token), consistent between requests.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["UNSUPPORTED_MODEL", "PromptCache", "cache_violation"]

# Bedrock's answer to a cachePoint for a model without prompt caching (400 ValidationException).
UNSUPPORTED_MODEL = "You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information."
# Claude's own limit message, which Bedrock relays for a fifth point.
TOO_MANY = "A maximum of 4 blocks with cache_control may be provided. Found {count}."
TTL_ORDER = ("A cache point with ttl '1h' must not come after a cache point with ttl '5m'. "
             "Cache points are processed in the order: toolConfig, system, messages.")
LOOKBACK_BLOCKS = 20
_TTL_SECONDS = {"5m": 300, "1h": 3600}

# (pattern on the model id without its geography prefix, minimum tokens, takes a 1h ttl)
_CACHING_MODELS = (
    (r"anthropic\.claude-3-7-sonnet", 1024, False),
    (r"anthropic\.claude-3-5-haiku", 2048, False),
    (r"anthropic\.claude-(haiku|opus)-4-5", 4096, True),
    (r"anthropic\.claude-sonnet-4-5", 1024, True),
    (r"anthropic\.claude-(opus|sonnet)-4", 1024, False),
    (r"amazon\.nova-(micro|lite|pro|premier)", 1000, False),
)


def _model_rules(model_id: str) -> tuple[int, bool] | None:
    for pattern, minimum, long_ttl in _CACHING_MODELS:
        if re.search(pattern, model_id):
            return minimum, long_ttl
    return None


def _blocks(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """The request as one sequence of (where, block), in Bedrock's order."""
    out: list[tuple[str, Any]] = [("tools", t) for t in (body.get("toolConfig") or {}).get("tools") or []]
    out += [("system", b) for b in body.get("system") or []]
    for i, message in enumerate(body.get("messages") or []):
        out += [(f"messages.{i}.{message.get('role')}", b) for b in message.get("content") or []]
    return out


def _points(body: dict[str, Any]) -> list[tuple[int, str]]:
    """(index in :func:`_blocks`, ttl) of every cachePoint."""
    return [(i, (b["cachePoint"] or {}).get("ttl", "5m")) for i, (_, b) in enumerate(_blocks(body)) if isinstance(b, dict) and "cachePoint" in b]


def cache_violation(body: dict[str, Any], model_id: str) -> str | None:
    """The ValidationException text Bedrock gives for this request's cache points, or None."""
    points = _points(body)
    if not points:
        return None
    rules = _model_rules(model_id)
    if rules is None:
        return UNSUPPORTED_MODEL
    if len(points) > 4:
        return TOO_MANY.format(count=len(points))
    longest = "1h"
    for _, ttl in points:
        if ttl not in _TTL_SECONDS:
            return f"The value '{ttl}' at cachePoint.ttl is not valid. Valid values are 5m and 1h."
        if ttl == "1h" and not rules[1]:
            return UNSUPPORTED_MODEL
        if ttl == "1h" and longest == "5m":
            return TTL_ORDER
        longest = ttl
    return None


@dataclass
class PromptCache:
    """Cached prefixes (by hash) with their expiry, shared by every request to one upstream."""

    entries: dict[str, tuple[int, float]] = field(default_factory=dict)  # hash -> (tokens, expires)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def account(self, body: dict[str, Any], model_id: str) -> dict[str, int]:
        """Converse ``usage`` for a valid request, reading and writing this cache."""
        blocks = _blocks(body)
        hashes, tokens = [], []  # per block boundary (after block i)
        digest = hashlib.sha256(model_id.encode())
        total = 0
        for where, block in blocks:
            if not (isinstance(block, dict) and "cachePoint" in block):
                encoded = orjson.dumps([where.rsplit(".", 1)[-1], block], option=orjson.OPT_SORT_KEYS)
                digest.update(encoded)
                total += max(1, len(encoded) // 4)
            hashes.append(digest.copy().hexdigest())
            tokens.append(total)
        points = _points(body)
        rules = _model_rules(model_id)
        minimum = rules[0] if rules else 0
        now = time.monotonic()
        read = written = 0
        with self.lock:
            for point, _ in points:
                for boundary in range(point, max(-1, point - LOOKBACK_BLOCKS - 1), -1):
                    hit = self.entries.get(hashes[boundary])
                    if hit and hit[1] > now:
                        read = max(read, hit[0])
                        break
            effective = [(p, ttl) for p, ttl in points if tokens[p] >= minimum]
            if effective:
                written = max(0, tokens[effective[-1][0]] - read)
                for point, ttl in effective:
                    self.entries[hashes[point]] = (tokens[point], now + _TTL_SECONDS[ttl])
        uncached = max(1, total - read - written)
        return {"inputTokens": uncached, "cacheReadInputTokens": read, "cacheWriteInputTokens": written}
