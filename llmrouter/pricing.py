"""The one cost function: OpenAI-shaped usage x a model's prices, in US dollars.

Prices are USD per million tokens, as in the YAML (``input_price``, ``output_price``) and in
LLMRouter's ``llms.json``. Everything that puts a number on a request uses :func:`usage_cost`:
``llmrouter generate`` (routing data), per-key spend in the gateway, the benchmark. Keeping one
function means a price rule (cache reads, cache writes) changes in one place.

Usage follows OpenAI's shape as the gateway reports it: ``prompt_tokens`` *includes* cached
input, ``prompt_tokens_details.cached_tokens`` is the part read from the prompt cache and
``prompt_tokens_details.cache_write_tokens`` the part written to it. Cache reads and writes are
priced with ``cache_read_price`` / ``cache_write_price`` when the model sets them, else with
the defaults below (Anthropic's and Bedrock's published ratios).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["CACHE_READ_RATIO", "CACHE_WRITE_1H_RATIO", "CACHE_WRITE_RATIO", "Priced", "Prices", "prices_of", "usage_cost"]

PER_TOKENS = 1_000_000
# A cache read costs 10% of the input price, a (5-minute) cache write 125%, a 1-hour one 200%.
CACHE_READ_RATIO = 0.1
CACHE_WRITE_RATIO = 1.25
CACHE_WRITE_1H_RATIO = 2.0


class Priced(Protocol):
    """What carries prices: a model's config entry (``LLMConfig``) or :class:`Prices`."""

    input_price: float | None
    output_price: float | None


@dataclass(frozen=True)
class Prices:
    """USD per million tokens; ``None`` means unknown (counted as 0)."""

    input_price: float | None = None
    output_price: float | None = None
    cache_read_price: float | None = None
    cache_write_price: float | None = None

    @property
    def known(self) -> bool:
        return self.input_price is not None or self.output_price is not None


def prices_of(model: Priced | Mapping[str, Any]) -> Prices:
    """The :class:`Prices` of a config entry, a ``llms.json`` entry or a :class:`Prices`."""
    if isinstance(model, Prices):
        return model
    get = model.get if isinstance(model, Mapping) else lambda key: getattr(model, key, None)
    write = get("cache_write_price")
    if write is None and get("prompt_cache_ttl") == "1h" and get("input_price") is not None and _writes_1h(get):
        write = get("input_price") * CACHE_WRITE_1H_RATIO  # a model caching for an hour writes at 2x
    return Prices(get("input_price"), get("output_price"), get("cache_read_price"), write)


def _writes_1h(get: Any) -> bool:
    """Whether 1-hour cache points are really sent: models without a 1-hour TTL get 5-minute ones
    (``prompt_cache``), whose writes cost 1.25x, not 2x."""
    from llmrouter.prompt_cache import bedrock_cache_support

    support = bedrock_cache_support(str(get("model") or ""), get("prompt_cache") or "auto")
    return support is not None and support.ttl_1h


def _int(value: Any) -> int:
    # Providers send odd usage now and then (null, a float, a string): never fail a bill on it.
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def usage_cost(usage: Mapping[str, Any] | None, model: Priced | Mapping[str, Any]) -> float:
    """US dollars for one answer's ``usage`` at ``model``'s prices (0.0 when unpriced)."""
    if not usage:
        return 0.0
    prices = prices_of(model)
    details = usage.get("prompt_tokens_details") or {}
    cached = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
    written = _int(details.get("cache_write_tokens")) if isinstance(details, Mapping) else 0
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    uncached = max(prompt - cached - written, 0)
    input_price = prices.input_price or 0.0
    read_price = prices.cache_read_price if prices.cache_read_price is not None else input_price * CACHE_READ_RATIO
    write_price = prices.cache_write_price if prices.cache_write_price is not None else input_price * CACHE_WRITE_RATIO
    total = (
        uncached * input_price
        + cached * read_price
        + written * write_price
        + completion * (prices.output_price or 0.0)
    )
    return total / PER_TOKENS
