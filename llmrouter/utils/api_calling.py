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

This module is the public entry; each job lives in its own module:
:mod:`~llmrouter.utils.retrying` (the async core and its retries),
:mod:`~llmrouter.utils.api_keys` (keys from the environment),
:mod:`~llmrouter.utils.batching` (the batch gate),
:mod:`~llmrouter.utils.call_results` (the result dicts),
:mod:`~llmrouter.utils.sync_bridge` (sync -> async) and
:mod:`~llmrouter.utils.http_client` (the pooled HTTP client a caller hands in).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from llmrouter import errors
from llmrouter.utils.api_keys import resolve_api_keys
from llmrouter.utils.batching import BATCH_CONCURRENCY, bounded
from llmrouter.utils.call_results import failure_result, success_result
from llmrouter.providers import CALL_API_TIMEOUT_S, is_bedrock
from llmrouter.utils.chat_call import from_request
from llmrouter.utils.http_client import AsyncClient, borrowed_or_own
from llmrouter.utils.retrying import achat, astream_chat
from llmrouter.utils.sync_bridge import run_sync

__all__ = ["BATCH_CONCURRENCY", "achat", "acall_api", "astream_chat", "call_api", "resolve_api_keys"]


async def _one(
    request: dict[str, Any], keys: tuple[str, ...], options: dict[str, Any], max_retries: int, client: AsyncClient | None
) -> dict[str, Any]:
    echo = dict(request) if isinstance(request, dict) else {"request": request}
    started = time.perf_counter()
    try:
        try:
            call = from_request(request, api_keys=keys, **options)
            completion = await achat(call, max_retries=max_retries, client=client)
        except errors.GatewayError:
            raise
        except Exception as exc:  # never let one request's surprise sink the batch
            service = provider_label(request.get("service") if isinstance(request, dict) else None)
            model = str(request.get("api_name") or request.get("model_name") or "?") if isinstance(request, dict) else "?"
            raise errors.classify(exc, provider=service, model_id=model) from None
    except errors.GatewayError as err:
        return failure_result(err, echo, time.perf_counter() - started)
    return success_result(completion, echo, time.perf_counter() - started)


async def acall_api(
    request_or_list: dict[str, Any] | list[dict[str, Any]],
    api_keys_env: str | Sequence[str] | None = None,
    max_tokens: int = 512,
    temperature: float = 0.01,
    top_p: float = 0.9,
    timeout: float = CALL_API_TIMEOUT_S,
    max_retries: int = 3,
    *,
    client: AsyncClient | None = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """The async form of :func:`call_api` (same arguments, same results).

    ``client``: the pooled HTTP client to call OpenAI-compatible providers through (its
    owner closes it, see :mod:`llmrouter.utils.http_client`); None opens one for this call
    (or batch) and closes it before returning.
    """
    keys = resolve_api_keys(api_keys_env)
    options = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "timeout": timeout}
    requests = request_or_list if isinstance(request_or_list, list) else [request_or_list]
    async with _client_for(requests, client) as http:
        if not isinstance(request_or_list, list):
            return await _one(request_or_list, keys, options, max_retries, http)
        # gather keeps the order of its arguments, whatever order the calls finish in.
        return list(await asyncio.gather(*bounded(_one(r, keys, options, max_retries, http) for r in request_or_list)))


def _client_for(requests: list[Any], client: AsyncClient | None) -> contextlib.AbstractAsyncContextManager[AsyncClient | None]:
    """The client to use: the one handed in, else one for this batch, else none for an
    all-Bedrock batch (LiteLLM brings its own; a new client costs ~0.2 s once per process)."""
    if client is None and all(isinstance(r, dict) and is_bedrock(r.get("service")) for r in requests):
        return contextlib.nullcontext()
    return borrowed_or_own(client)


def call_api(
    request_or_list: dict[str, Any] | list[dict[str, Any]],
    api_keys_env: str | Sequence[str] | None = None,
    max_tokens: int = 512,
    temperature: float = 0.01,
    top_p: float = 0.9,
    timeout: float = CALL_API_TIMEOUT_S,
    max_retries: int = 3,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Call one request or a batch; returns the request dict(s) with the answer added.

    Added keys: ``response``, ``prompt_tokens``, ``completion_tokens``, ``token_num``,
    ``response_time`` and, on failure, ``error`` (the catalog's actionable message).
    A failed request never raises and never sinks the rest of a batch.
    """
    args = (request_or_list, api_keys_env, max_tokens, temperature, top_p, timeout, max_retries)

    # Handed no client, acall_api opens one on the bridge's private loop and closes it there.
    return run_sync(lambda: acall_api(*args))
