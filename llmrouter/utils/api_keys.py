"""call_api's API keys, as the original LLMRouter reads them, and which key each call uses.

``api_keys_env`` (or, when it is None, the ``API_KEYS`` environment variable) is the keys
themselves, in any of these forms:

- one key: ``"nvapi-..."``;
- several: a JSON list ``'["k1", "k2"]'``, comma-separated ``"k1,k2"``, or a Python list;
- per service: a JSON object (or a dict) ``'{"NVIDIA": "k1,k2", "OpenAI": ["k3"], "together": "k4"}'``,
  looked up by the request's ``service``, case-insensitively.

Keys rotate as upstream: a single call takes the next key of a counter kept per
(service, endpoint, model); the calls of a batch take key ``index % len(keys)``. A value in
none of these forms is a ValueError that lists them. Every key found is registered as a
secret, so an upstream that echoes it back cannot make it appear in a result or a log line.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Union

from llmrouter import errors
from llmrouter.providers import is_bedrock
from llmrouter.secrets import register_secret

__all__ = ["ACCEPTED_FORMS", "KeySource", "parse_api_keys", "pick_key", "resolve_api_keys"]

# The keys for every service, or the keys per service (lower-cased names).
KeySource = Union[tuple[str, ...], dict[str, tuple[str, ...]]]

ACCEPTED_FORMS = (
    'one key ("k"), a JSON list (\'["k1", "k2"]\'), comma-separated keys ("k1,k2"), a list of strings, '
    'or a JSON object / dict per service (\'{"NVIDIA": "k1,k2", "OpenAI": ["k3"]}\')'
)

_counters: dict[tuple[str, str, str], int] = {}
_lock = threading.Lock()


def parse_api_keys(value: Any, origin: str = "api_keys_env") -> KeySource:
    """The keys ``value`` holds (None: the ``API_KEYS`` environment variable, else none).

    ``origin`` names the value in the error: ValueError when it is in none of the forms.
    """
    if value is None:
        value, origin = os.environ.get("API_KEYS", ""), "API_KEYS"
    if isinstance(value, Mapping):
        return {str(service).strip().lower(): _keys(keys, f"{origin}[{service!r}]") for service, keys in value.items()}
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{", '"'):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{origin}: not valid JSON ({exc.msg}); accepted forms: {ACCEPTED_FORMS}") from None
            return parse_api_keys(parsed, origin) if not isinstance(parsed, str) else _keys(parsed, origin)
        return _keys(text, origin)
    return _keys(value, origin)


def _keys(value: Any, origin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        keys = tuple(k.strip() for k in value.split(",") if k.strip())
    elif isinstance(value, Sequence) and all(isinstance(k, str) for k in value):
        keys = tuple(k.strip() for k in value if k.strip())
    else:
        raise ValueError(f"{origin}: {type(value).__name__} is not API keys; accepted forms: {ACCEPTED_FORMS}")
    for key in keys:
        register_secret(key)
    return keys


def resolve_api_keys(api_keys_env: Any, service: str | None = None) -> tuple[str, ...]:
    """Every key to rotate over for ``service`` (all of them for the list forms)."""
    source = parse_api_keys(api_keys_env)
    return _for_service(source, service) if isinstance(source, dict) else source


def _for_service(source: dict[str, tuple[str, ...]], service: str | None) -> tuple[str, ...]:
    found = source.get((service or "").strip().lower())
    if found is not None:
        return found
    if is_bedrock(service):  # SigV4: Bedrock needs no key, so none is not an error
        return ()
    services = ", ".join(source) or "none"
    raise errors.bad_request(
        f"API keys are given per service ({services}), but none for this request's service {service!r}: "
        "set the request's `service` to one of them, or add its keys",
        param="service",
    )


def pick_key(source: KeySource, request: dict[str, Any], batch_index: int | None) -> tuple[str, ...]:
    """The key for one call, as a 1-tuple (empty when there is none): the next of the
    (service, endpoint, model) counter, or for the call at ``batch_index`` of a batch, key
    ``batch_index % len(keys)``. A dict source with no keys for the request's service is a
    catalog ``invalid_request`` error."""
    service = request.get("service")
    keys = _for_service(source, service) if isinstance(source, dict) else source
    if not keys:
        return ()
    if batch_index is not None:
        return (keys[batch_index % len(keys)],)
    counter = (str(service or "").lower(), str(request.get("api_endpoint") or ""), str(request.get("api_name") or ""))
    with _lock:
        position = _counters.get(counter, 0)
        _counters[counter] = (position + 1) % len(keys)
    return (keys[position % len(keys)],)
