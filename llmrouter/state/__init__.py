"""Shared state behind one seam: in process by default, Redis with ``state.redis_url``.

See :mod:`llmrouter.state.base` for what is shared and why the seam has this shape.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from llmrouter.state.base import KeyLimits, Refusal, StateStore, key_id, pool_name
from llmrouter.state.local import LocalStore

__all__ = ["KeyLimits", "LocalStore", "Refusal", "StateConfig", "StateStore", "key_id", "open_store", "pool_name"]


class StateConfig(BaseModel):
    """``state:`` in the YAML: where what requests share lives (docs/deploy.md)."""

    model_config = ConfigDict(extra="forbid")

    # redis://[:password@]host:6379/0 (rediss:// for TLS, unix:///path.sock); unset: in process.
    redis_url: str | None = None
    # Namespace of every key, so several gateways can share one Redis without sharing state.
    prefix: str = "llmrouter:"

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix:// (for example redis://127.0.0.1:6379/0)")
        return value


def open_store(redis_url: str | None, prefix: str = "llmrouter:") -> StateStore:
    """The store for a config: Redis when ``redis_url`` is set, else in process.

    Opening never connects: the first operation does, and a Redis that is not there yet
    degrades to local state like one that goes away later.
    """
    if not redis_url:
        return LocalStore()
    from llmrouter.state.redis_store import RedisStore

    return RedisStore(redis_url, prefix)
