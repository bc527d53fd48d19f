"""OpenAI-compatible providers (NVIDIA NIM, OpenAI, Together, vLLM...) by direct HTTP.

No LiteLLM here: this is the fast path. Calls go through the ``httpx2.AsyncClient`` they
are handed (:mod:`llmrouter.utils.http_client`: the server's lifespan, the CLI command or
call_api's bridge owns it); keys are rotated per call.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx2 as httpx  # why httpx2: see llmrouter.utils.http_client
import orjson

from llmrouter import errors
from llmrouter.providers import DEFAULT_TIMEOUT_S, OPENAI_COMPATIBLE
from llmrouter.utils.chat_call import ChatCall
from llmrouter.utils.http_client import pooled_client
from llmrouter.utils.openai_shapes import normalize_completion

__all__ = ["achat", "astream", "next_key"]

log = logging.getLogger("llmrouter.openai_compat")

_rotations: dict[tuple[str, ...], "itertools.cycle[str]"] = {}
_rotation_lock = threading.Lock()


def next_key(keys: tuple[str, ...]) -> str | None:
    """Round-robin over several keys (thread-safe); None when there are none."""
    if not keys:
        return None
    if len(keys) == 1:
        return keys[0]
    with _rotation_lock:
        cycle = _rotations.get(keys)
        if cycle is None:
            cycle = _rotations[keys] = itertools.cycle(keys)
        return next(cycle)


def _url(call: ChatCall) -> str:
    base = (call.endpoint or "").rstrip("/")
    return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


def _request(call: ChatCall, stream: bool) -> tuple[str, dict[str, str], bytes]:
    body: dict[str, Any] = {"model": call.model_id, "messages": call.messages}
    body.update({k: v for k, v in call.params.items() if v is not None})
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    headers = {"content-type": "application/json", "accept": "text/event-stream" if stream else "application/json"}
    key = next_key(call.api_keys)
    if key:
        headers["authorization"] = f"Bearer {key}"
    return _url(call), headers, orjson.dumps(body)


def _http_error(call: ChatCall, status: int, body: bytes, headers: httpx.Headers) -> errors.GatewayError:
    detail = ""
    try:
        parsed = orjson.loads(body)
        err = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        detail = err.get("message", "") if isinstance(err, dict) else str(err)
    except orjson.JSONDecodeError:
        detail = body[:200].decode("utf-8", "replace")
    if status in (401, 403):
        return errors.upstream_auth_failed(call.model_id, OPENAI_COMPATIBLE, detail)
    if status == 429:
        after = errors.parse_retry_after(headers.get("retry-after"))
        return errors.throttled(call.model_id, None, OPENAI_COMPATIBLE, after)
    return errors.upstream_error(call.model_id, OPENAI_COMPATIBLE, status, detail)


def _fail(exc: Exception, call: ChatCall) -> errors.GatewayError:
    return errors.classify(
        exc, provider=OPENAI_COMPATIBLE, model_id=call.model_id, endpoint=_url(call), timeout_s=call.timeout
    )


async def achat(call: ChatCall, client: httpx.AsyncClient | None = None) -> dict[str, Any]:
    """One call as a normalized ``chat.completion`` dict, through ``client`` (or a client of its own)."""
    if client is None:
        async with pooled_client() as own:
            return await achat(call, own)
    url, headers, body = _request(call, stream=False)
    try:
        response = await client.post(url, content=body, headers=headers, timeout=call.timeout)
    except Exception as exc:  # httpx errors, and replay's "not recorded"
        raise _fail(exc, call) from None
    if response.status_code >= 400:
        raise _http_error(call, response.status_code, response.content, response.headers)
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise errors.upstream_error(call.model_id, OPENAI_COMPATIBLE, 502, "the answer was not JSON") from None
    if not _is_openai_shaped(data):
        raise errors.upstream_error(call.model_id, OPENAI_COMPATIBLE, 502, "the answer was not a chat.completion")
    return normalize_completion(data)


def _is_openai_shaped(data: Any) -> bool:
    """A JSON object whose ``choices`` (if any) is a list of objects: what the shapers can read."""
    if not isinstance(data, dict):
        return False
    choices = data.get("choices")
    if choices is None:
        return True
    return isinstance(choices, list) and all(
        isinstance(c, dict) and isinstance(c.get("delta") or {}, dict) and isinstance(c.get("message") or {}, dict) for c in choices
    )


async def astream(call: ChatCall, client: httpx.AsyncClient | None = None) -> AsyncIterator[dict[str, Any]]:
    """Parsed ``chat.completion.chunk`` dicts, relayed as the provider sends them, through
    ``client`` (or a client of its own)."""
    if client is None:
        # aclosing: a consumer that stops early closes the upstream stream before the client.
        async with pooled_client() as own, aclosing(astream(call, own)) as chunks:
            async for chunk in chunks:
                yield chunk
        return
    url, headers, body = _request(call, stream=True)
    finished = False  # a finish_reason was seen: the answer is complete even without [DONE]
    try:
        async with client.stream("POST", url, content=body, headers=headers, timeout=call.timeout) as response:
            if response.status_code >= 400:
                raise _http_error(call, response.status_code, await response.aread(), response.headers)
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                try:
                    chunk = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    raise errors.upstream_error(call.model_id, OPENAI_COMPATIBLE, 502, "a stream event was not JSON") from None
                if isinstance(chunk, dict) and "error" in chunk:
                    err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
                    raise errors.upstream_error(call.model_id, OPENAI_COMPATIBLE, 502, str(err.get("message", "")))
                if not _is_openai_shaped(chunk):
                    raise errors.upstream_error(call.model_id, OPENAI_COMPATIBLE, 502, "a stream event was not a chat.completion.chunk")
                finished = finished or any(c.get("finish_reason") for c in chunk.get("choices") or ())
                yield chunk
        if not finished:  # the body ended cleanly, but neither [DONE] nor a finish_reason came
            raise errors.upstream_interrupted(call.model_id, OPENAI_COMPATIBLE, "the stream ended without a finish_reason or [DONE]")
    except errors.GatewayError:
        raise
    except Exception as exc:  # httpx errors, and replay's "not recorded"
        raise _fail(exc, call) from None
