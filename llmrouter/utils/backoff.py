"""How long to wait before retrying a retryable failure: the one rule, for call_api and the
gateway alike.

Exponential backoff with jitter (so that many clients throttled together do not retry in
step), and never sooner than the provider's ``Retry-After``: retrying earlier only earns
another 429.
"""

from __future__ import annotations

import random

from llmrouter.errors import GatewayError

__all__ = ["BACKOFF_CAP", "retry_delay"]

BACKOFF_CAP = 8.0  # seconds of backoff at most; a longer Retry-After is still honoured


def retry_delay(attempt: int, err: GatewayError, base: float) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
    backoff = min(BACKOFF_CAP, base * 2**attempt) * (0.5 + random.random() / 2)
    return max(backoff, err.retry_after or 0.0)
