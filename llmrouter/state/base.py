"""The seam for state that several requests share: :class:`StateStore`.

What requests share is small and fixed: the round-robin position, model cooldowns, per-key
rate-limit windows and per-key spend. Each is one operation here, so that every
implementation can make it atomic in one step (a Lua script on Redis, plain code between two
awaits in process) and a request pays at most one round trip per operation.

Two implementations: :class:`~llmrouter.state.local.LocalStore` (one process, the default) and
:class:`~llmrouter.state.redis_store.RedisStore` (``state.redis_url``: every worker and
instance shares one view). Keys are identified by :func:`key_id`, never by the key itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["KeyLimits", "Refusal", "StateStore", "key_id"]

# The rate-limit windows: a sliding minute counted in one-second buckets, so a limit holds
# over any 60 s (a fixed window would let twice the limit through around a minute boundary).
WINDOW_S = 60
BUCKET_S = 1
# Spend is summed in floating point: a budget reached up to rounding counts as reached.
SPEND_EPSILON = 1e-9


def key_id(key: str) -> str:
    """The name a gateway key is known by in the store, logs and metrics: its SHA-256 (hex).

    The key itself never leaves the process; a hash cannot be replayed as a key.
    """
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyLimits:
    """The limits of one gateway key (``None``: unlimited). ``budget_period`` in seconds."""

    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None
    budget_period: int = 30 * 86400

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.budget_usd is not None


@dataclass(frozen=True)
class Refusal:
    """Why a request over a key's limits is refused: ``rpm``, ``tpm`` or ``budget``, and when to retry."""

    reason: str
    retry_after: float
    limit: float


class StateStore(Protocol):
    """Shared state. Implementations never raise on a failing backend: they degrade."""

    async def next_turn(self, pool: str) -> int:
        """0, 1, 2, ... for successive calls with the same ``pool`` (round robin)."""
        ...

    async def failures(self, names: Sequence[str]) -> dict[str, bool]:
        """Those of ``names`` with failures on record, each True when in cooldown now.

        Models that never failed (the usual case) are absent, so a caller knows without
        another round trip whether a success has anything to clear.
        """
        ...

    async def failed(self, name: str, after: int, seconds: float, retry_after: float | None) -> bool:
        """A retryable failure of ``name``: the ``after``-th in a row, or a ``retry_after`` from the
        provider (capped at ``seconds``), puts it in cooldown for ``seconds``. True when cooling."""
        ...

    async def succeeded(self, name: str) -> None:
        """``name`` answered: forget its failures and any cooldown."""
        ...

    async def admit(self, key: str, limits: KeyLimits) -> Refusal | None:
        """Count one request of ``key`` (a :func:`key_id`) against ``limits``: None when it may
        go ahead, else why not (the request is then not counted)."""
        ...

    async def record_usage(self, key: str, model: str, tokens: int, usd: float, budget_period: int) -> None:
        """Add an answer's tokens to ``key``'s minute window and its cost to the period's spend."""
        ...

    async def spend(self, key: str, budget_period: int) -> dict[str, float]:
        """``key``'s spend in the current period, in USD per model."""
        ...

    async def aclose(self) -> None: ...


def period_start(now: float, period: int) -> int:
    """The start of the budget period ``now`` falls in: periods are aligned on the Unix epoch,
    so every instance agrees on them without talking (``1d`` resets at 00:00 UTC)."""
    return int(now // period) * period


def cooldown_until(now: float, failures: int, until: float, after: int, seconds: float, retry_after: float | None) -> float:
    """When a model's cooldown ends after one more failure (``until`` unchanged: not cooling).

    The rule of docs/routing.md, in one place for both stores (the Lua script mirrors it).
    """
    if failures >= after:
        until = max(until, now + seconds)
    if retry_after:
        until = max(until, now + min(retry_after, seconds))
    return until


def pool_name(names: Sequence[str]) -> str:
    """A stable short name for a routing pool: a changed pool (reload) gets a fresh position."""
    return hashlib.sha256("\0".join(names).encode()).hexdigest()[:16]
