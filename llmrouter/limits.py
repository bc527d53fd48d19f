"""Gateway keys with limits: who is calling, what they may use, and what they have spent.

``serve.api_keys`` entries are strings (a key, no limits) or objects ``{key, rpm, tpm,
budget_usd, budget_period, models}``. :class:`KeyRing` finds the caller's key in constant
time; :class:`Limiter` admits or refuses a request against the key's limits and adds an
answer's usage and cost (:func:`llmrouter.pricing.usage_cost`, the one cost function) to its
windows and spend, through the shared :class:`~llmrouter.state.StateStore`.

A key is known everywhere outside this process by :func:`~llmrouter.state.key_id` (its
SHA-256): in Redis, in log lines (the first 12 hex digits), never in clear.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llmrouter import errors
from llmrouter.pricing import Priced, usage_cost
from llmrouter.state import KeyLimits, StateStore, key_id

__all__ = ["ApiKeyEntry", "GatewayKey", "KeyRing", "Limiter", "parse_period", "usage_tokens"]

_PERIOD = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_period(text: str | int) -> int:
    """``"30d"`` -> seconds (units s, m, h, d, w; a bare number is seconds). ValueError if malformed."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        match = _PERIOD.match(str(text))
        if not match:
            raise ValueError(f"'{text}' is not a period; write a number and a unit, like 1h, 1d, 30d (units s, m, h, d, w)")
        seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"'{text}' is not a positive period")
    return seconds


class ApiKeyEntry(BaseModel):
    """A gateway key with limits, as ``serve.api_keys`` writes it (entries may also be plain strings)."""

    model_config = ConfigDict(extra="forbid")

    key: str
    rpm: int | None = Field(None, ge=1)         # requests per minute (sliding)
    tpm: int | None = Field(None, ge=1)         # tokens per minute (sliding; from answers' usage)
    budget_usd: float | None = Field(None, ge=0)  # spend per budget_period, at the models' prices
    budget_period: str = "30d"                  # 1h, 1d, 30d...: periods aligned on 00:00 UTC
    models: list[str] | None = None             # allow-list of names under `llms` (and `auto`)

    @field_validator("budget_period")
    @classmethod
    def _period(cls, value: str) -> str:
        parse_period(value)
        return value


@dataclass(frozen=True)
class GatewayKey:
    """One configured key: its secret (only ever compared), its id, limits and allowed models."""

    secret: bytes = field(repr=False)
    id: str
    limits: KeyLimits = KeyLimits()
    period_text: str = "30d"
    models: frozenset[str] | None = None  # None: every model

    @classmethod
    def of(cls, secret: str, *, rpm: int | None = None, tpm: int | None = None, budget_usd: float | None = None,
           budget_period: str = "30d", models: Iterable[str] | None = None) -> "GatewayKey":
        limits = KeyLimits(rpm, tpm, budget_usd, parse_period(budget_period))
        return cls(secret.encode(), key_id(secret), limits, str(budget_period), frozenset(models) if models is not None else None)

    @property
    def label(self) -> str:
        """How logs name the key: a prefix of its hash, enough to tell keys apart."""
        return self.id[:12]


class KeyRing:
    """The configured keys; :meth:`find` compares the presented one against every key."""

    def __init__(self, keys: Iterable[GatewayKey]) -> None:
        self.keys = tuple(keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def find(self, presented: bytes | None) -> GatewayKey | None:
        if presented is None:
            return None
        found = None
        for key in self.keys:  # no early exit: the time taken does not depend on which key matched
            if hmac.compare_digest(presented, key.secret):
                found = key
        return found


def usage_tokens(usage: Mapping[str, Any] | None) -> int:
    """Tokens an answer used, for ``tpm``: ``total_tokens``, else prompt + completion."""
    if not usage:
        return 0
    try:
        total = usage.get("total_tokens")
        if total is None:
            total = (usage.get("prompt_tokens") or 0) + (usage.get("completion_tokens") or 0)
        return max(int(total), 0)
    except (TypeError, ValueError):
        return 0


class Limiter:
    """Admits requests against a key's limits and records what its answers used."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    async def admit(self, key: GatewayKey, model: str) -> None:
        """Raise the catalog's 403 or 429 when ``key`` may not make a request to ``model`` now."""
        if key.models is not None and model not in key.models:
            raise errors.model_not_allowed(model, sorted(key.models))
        if not key.limits.any:
            return
        refusal = await self.store.admit(key.id, key.limits)
        if refusal is None:
            return
        if refusal.reason == "budget":
            raise errors.budget_exceeded(refusal.limit, key.period_text, refusal.retry_after)
        raise errors.rate_limit_exceeded(refusal.reason, refusal.limit, refusal.retry_after)

    async def record(self, key: GatewayKey, model: str, usage: Mapping[str, Any] | None, prices: Priced) -> float:
        """Add one answer's tokens and cost to ``key``'s window and spend; the cost in USD."""
        usd = usage_cost(usage, prices)
        await self.store.record_usage(key.id, model, usage_tokens(usage), usd, key.limits.budget_period)
        return usd

    async def spend(self, key: GatewayKey) -> dict[str, float]:
        """USD per model that ``key`` spent in its current budget period."""
        return await self.store.spend(key.id, key.limits.budget_period)
