"""``Retry-After`` headers as a delay in seconds: the one parser (re-exported by :mod:`llmrouter.errors`)."""

from __future__ import annotations

import math

__all__ = ["MAX_RETRY_AFTER", "parse_retry_after"]

MAX_RETRY_AFTER = 3600.0  # seconds: a provider asking for more is capped, not obeyed for hours


def parse_retry_after(value: str | bytes | float | None) -> float | None:
    """A ``Retry-After`` header's delay in seconds, or None when it is not one.

    Only delta-seconds are understood. Anything else (an HTTP date, garbage, a negative
    number, NaN, infinity) is None, so that no nonsense reaches a response header, a model's
    cooldown or a sleep. Larger values are capped at :data:`MAX_RETRY_AFTER`.
    """
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)
