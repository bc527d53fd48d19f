"""Shared state behind one seam: in process by default, Redis with ``state.redis_url``.

See :mod:`llmrouter.state.base` for what is shared and why the seam has this shape.
"""

from __future__ import annotations

from llmrouter.state.base import KeyLimits, Refusal, StateStore, key_id, pool_name
from llmrouter.state.local import LocalStore

__all__ = ["KeyLimits", "LocalStore", "Refusal", "StateStore", "key_id", "open_store", "pool_name"]


def open_store(redis_url: str | None, prefix: str = "llmrouter:") -> StateStore:
    """The store for a config: Redis when ``redis_url`` is set, else in process.

    Opening never connects: the first operation does, and a Redis that is not there yet
    degrades to local state like one that goes away later.
    """
    if not redis_url:
        return LocalStore()
    from llmrouter.state.redis_store import RedisStore

    return RedisStore(redis_url, prefix)
