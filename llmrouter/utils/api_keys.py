"""Which API keys a call_api call rotates over: given as a list, or read from the environment."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from llmrouter.secrets import register_secret

__all__ = ["resolve_api_keys"]


def resolve_api_keys(api_keys_env: str | Sequence[str] | None) -> tuple[str, ...]:
    """Keys to rotate over: a list as given, or the value of the env var it names.

    The env var may hold one key, several separated by commas, or a JSON list. With no
    argument, ``API_KEYS`` is read. Every key found is registered as a secret, so an upstream
    that echoes it back cannot make it appear in a result or a log line.
    """
    if api_keys_env is not None and not isinstance(api_keys_env, str):
        keys = tuple(k for k in api_keys_env if k)
    else:
        keys = _keys_from_env(api_keys_env or "API_KEYS")
    for key in keys:
        register_secret(key)
    return keys


def _keys_from_env(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "").strip()
    if raw.startswith("["):
        try:
            return tuple(str(k) for k in json.loads(raw) if k)
        except json.JSONDecodeError:
            pass
    return tuple(k.strip() for k in raw.split(",") if k.strip())
