"""``call_api()``: the one function that calls LLM providers, and its async/streaming core.

Compatible with the original LLMRouter signature::

    call_api(request_or_list, api_keys_env=None, max_tokens=512, temperature=0.01,
             top_p=0.9, timeout=30, max_retries=3)

A request is a dict with ``api_endpoint``, ``query``, ``model_name``, ``api_name`` and
optionally ``service``, ``system_prompt``, ``aws_region``, ``aws_profile`` and ``messages``
(a full OpenAI conversation, which takes precedence over ``query``/``system_prompt``), plus
any OpenAI chat parameter (``tools``, ``stop``...). Unknown keys are echoed back.

``service`` of ``bedrock``/``aws`` (any case) means AWS Bedrock via LiteLLM's Converse route;
``api_endpoint`` is then an optional bedrock-runtime endpoint override. Anything else is an
OpenAI-compatible endpoint called by direct HTTP.

``call_api`` is synchronous (CLI, scripts). The server uses :func:`achat` and
:func:`astream_chat`, which never block the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from llmrouter import errors
from llmrouter.secrets import register_secret
from llmrouter.utils import bedrock_converse, openai_compat
from llmrouter.utils.backoff import retry_delay
from llmrouter.utils.chat_call import ChatCall, from_request, is_bedrock_service
from llmrouter.utils.openai_shapes import completion_text, usage_cache_counts

__all__ = ["achat", "acall_api", "astream_chat", "call_api", "resolve_api_keys"]

BATCH_CONCURRENCY = 16
_BACKOFF_BASE = 0.5  # seconds before the first retry (doubling, see llmrouter.utils.backoff)


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


def _backend(call: ChatCall):  # noqa: ANN202 - a module with achat/astream
    return bedrock_converse if call.provider == "bedrock" else openai_compat


async def achat(call: ChatCall, max_retries: int = 0) -> dict[str, Any]:
    """One chat call as an OpenAI ``chat.completion`` dict; retries retryable failures only."""
    attempt = 0
    while True:
        try:
            return await _backend(call).achat(call)
        except errors.GatewayError as err:
            if not err.retryable or attempt >= max_retries:
                raise
            await asyncio.sleep(retry_delay(attempt, err, _BACKOFF_BASE))
            attempt += 1


async def astream_chat(call: ChatCall, max_retries: int = 0) -> AsyncIterator[dict[str, Any]]:
    """One streamed chat call: ``chat.completion.chunk`` dicts as they arrive.

    A retryable failure before the first chunk is retried; after it, it is raised (the
    caller has already seen content, so repeating the call would duplicate it).
    """
    attempt = 0
    while True:
        started = False
        try:
            async for chunk in _backend(call).astream(call):
                started = True
                yield chunk
            return
        except errors.GatewayError as err:
            if started or not err.retryable or attempt >= max_retries:
                raise
            await asyncio.sleep(retry_delay(attempt, err, _BACKOFF_BASE))
            attempt += 1


async def _one(request: dict[str, Any], keys: tuple[str, ...], options: dict[str, Any], max_retries: int) -> dict[str, Any]:
    out = dict(request) if isinstance(request, dict) else {"request": request}
    started = time.perf_counter()
    try:
        try:
            call = from_request(request, api_keys=keys, **options)
            completion = await achat(call, max_retries=max_retries)
        except errors.GatewayError:
            raise
        except Exception as exc:  # never let one request's surprise sink the batch
            service = "bedrock" if isinstance(request, dict) and is_bedrock_service(request.get("service")) else "OpenAI-compatible"
            model = str(request.get("api_name") or request.get("model_name") or "?") if isinstance(request, dict) else "?"
            raise errors.classify(exc, provider=service, model_id=model) from None
    except errors.GatewayError as err:
        out.update(
            response=f"ERROR: {err.message}",
            error=err.message,
            error_code=err.code,
            prompt_tokens=0,
            completion_tokens=0,
            token_num=0,
            response_time=time.perf_counter() - started,
        )
        return out
    usage = completion["usage"]
    cached, written = usage_cache_counts(usage)
    out.update(
        response=completion_text(completion),
        prompt_tokens=usage["prompt_tokens"],  # cached input included, as in OpenAI's usage
        completion_tokens=usage["completion_tokens"],
        token_num=usage["total_tokens"],
        cached_tokens=cached,
        cache_write_tokens=written,
        response_time=time.perf_counter() - started,
    )
    tool_calls = completion["choices"][0]["message"].get("tool_calls") if completion["choices"] else None
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


async def acall_api(
    request_or_list: dict[str, Any] | list[dict[str, Any]],
    api_keys_env: str | Sequence[str] | None = None,
    max_tokens: int = 512,
    temperature: float = 0.01,
    top_p: float = 0.9,
    timeout: float = 30,
    max_retries: int = 3,
) -> dict[str, Any] | list[dict[str, Any]]:
    """The async form of :func:`call_api` (same arguments, same results)."""
    keys = resolve_api_keys(api_keys_env)
    options = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "timeout": timeout}
    if not isinstance(request_or_list, list):
        return await _one(request_or_list, keys, options, max_retries)
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def bounded(request: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            return await _one(request, keys, options, max_retries)

    # gather keeps the order of its arguments, whatever order the calls finish in.
    return list(await asyncio.gather(*(bounded(r) for r in request_or_list)))


def call_api(
    request_or_list: dict[str, Any] | list[dict[str, Any]],
    api_keys_env: str | Sequence[str] | None = None,
    max_tokens: int = 512,
    temperature: float = 0.01,
    top_p: float = 0.9,
    timeout: float = 30,
    max_retries: int = 3,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Call one request or a batch; returns the request dict(s) with the answer added.

    Added keys: ``response``, ``prompt_tokens`` (cached input included), ``completion_tokens``,
    ``token_num``, ``cached_tokens`` (read from the prompt cache), ``cache_write_tokens``,
    ``response_time`` and, on failure, ``error`` (the catalog's actionable message).
    A failed request never raises and never sinks the rest of a batch.
    """
    coro_args = (request_or_list, api_keys_env, max_tokens, temperature, top_p, timeout, max_retries)

    async def run() -> Any:
        try:
            return await acall_api(*coro_args)
        finally:
            await openai_compat.aclose_clients()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    # Called from inside an event loop (a notebook, an async app): run on a private loop.
    result: list[Any] = []
    failure: list[BaseException] = []

    def worker() -> None:
        try:
            result.append(asyncio.run(run()))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=worker, name="call_api")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
