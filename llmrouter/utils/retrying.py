"""The async core of call_api: one chat call to its provider, retried when that can help.

:func:`achat` and :func:`astream_chat` are what the server's ``LLMBackend``, the LiteLLM
custom handler for Bedrock, ``llmrouter chat`` and :func:`~llmrouter.utils.api_calling.acall_api`
call. OpenAI-compatible calls go through the HTTP client they are handed
(:mod:`llmrouter.utils.http_client`); Bedrock calls go through LiteLLM, which brings its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from llmrouter import errors
from llmrouter.utils import bedrock_converse, openai_compat
from llmrouter.providers import BEDROCK
from llmrouter.utils.backoff import retry_delay
from llmrouter.utils.chat_call import ChatCall
from llmrouter.utils.http_client import AsyncClient

__all__ = ["BACKOFF_BASE", "achat", "astream_chat"]

BACKOFF_BASE = 0.5  # seconds before the first retry (doubling, see llmrouter.utils.backoff)


def _complete(call: ChatCall, client: AsyncClient | None) -> Any:
    if call.provider == BEDROCK:
        return bedrock_converse.achat(call)
    return openai_compat.achat(call, client)


def _stream(call: ChatCall, client: AsyncClient | None) -> AsyncIterator[dict[str, Any]]:
    if call.provider == BEDROCK:
        return bedrock_converse.astream(call)
    return openai_compat.astream(call, client)


async def achat(call: ChatCall, max_retries: int = 0, *, client: AsyncClient | None = None) -> dict[str, Any]:
    """One chat call as an OpenAI ``chat.completion`` dict; retries retryable failures only.

    ``client``: the pooled HTTP client for OpenAI-compatible calls (its owner closes it);
    None opens one for this call only.
    """
    attempt = 0
    while True:
        try:
            return await _complete(call, client)
        except errors.GatewayError as err:
            if not err.retryable or attempt >= max_retries:
                raise
            await asyncio.sleep(retry_delay(attempt, err, BACKOFF_BASE))
            attempt += 1


async def astream_chat(
    call: ChatCall, max_retries: int = 0, *, client: AsyncClient | None = None
) -> AsyncIterator[dict[str, Any]]:
    """One streamed chat call: ``chat.completion.chunk`` dicts as they arrive.

    A retryable failure before the first chunk is retried; after it, it is raised (the
    caller has already seen content, so repeating the call would duplicate it). ``client``
    as for :func:`achat`.
    """
    attempt = 0
    while True:
        started = False
        try:
            async for chunk in _stream(call, client):
                started = True
                yield chunk
            return
        except errors.GatewayError as err:
            if started or not err.retryable or attempt >= max_retries:
                raise
            await asyncio.sleep(retry_delay(attempt, err, BACKOFF_BASE))
            attempt += 1
