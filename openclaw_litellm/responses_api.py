"""``POST /v1/responses``: OpenAI's Responses API over the gateway's chat service.

A request is translated to a chat request (:mod:`openclaw_litellm.responses_request`) and
served by the same :class:`~openclaw_litellm.completions.ChatService` as
``/v1/chat/completions``: routing (``model: "auto"``), retries, fallbacks and both backends
(direct HTTP and Bedrock). The answer comes back as a ``response`` object, or with
``stream: true`` as Server-Sent Events named after their ``type``
(:mod:`openclaw_litellm.responses_events`); unlike chat streams there is no ``[DONE]``.

Failures before the first byte are HTTP errors in OpenAI's shape, exactly as on the chat
endpoint (a client retries a 5xx); a failure after it ends the stream with
``response.failed`` carrying the catalog's code and message.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from llmrouter import errors
from openclaw_litellm._http import ATTEMPTS_HEADER, CLIENT_CLOSED, MODEL_HEADER, json_response, read_body, unless_client_leaves
from openclaw_litellm.completions import ChatService, StreamServed
from openclaw_litellm.responses_events import ResponseEvents, response_from_completion
from openclaw_litellm.responses_request import parse_responses_request

__all__ = ["add_responses_route"]

log = logging.getLogger("openclaw.responses")

# Request fields a response object repeats back.
_ECHO = {"instructions", "max_output_tokens", "parallel_tool_calls", "reasoning", "temperature", "text",
         "tool_choice", "tools", "top_p", "user", "metadata"}


def _encode_event(event: dict[str, Any]) -> bytes:
    """One Responses SSE event: ``event: <type>`` and its JSON ``data``."""
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def add_responses_route(app: FastAPI, service: ChatService) -> None:
    limit = app.state.config.serve.max_body_bytes

    @app.post("/v1/responses")
    async def responses(request: Request) -> Response:
        parsed = parse_responses_request(await read_body(request, limit))
        chat = parsed.to_chat()
        echo = parsed.model_dump(include=_ECHO, exclude_none=True)
        # As on the chat endpoint: a client that leaves before the answer starts cancels the call.
        if not parsed.stream:
            served = await unless_client_leaves(request, service.complete(chat))
            if served is None:
                return Response(status_code=CLIENT_CLOSED)
            body = response_from_completion(served.body, echo)
            return json_response(body, headers={MODEL_HEADER: served.model, ATTEMPTS_HEADER: str(served.attempts)})
        streamed = await unless_client_leaves(request, service.stream(chat))
        if streamed is None:
            return Response(status_code=CLIENT_CLOSED)
        return StreamingResponse(
            _events(streamed, echo),
            media_type="text/event-stream",
            headers={MODEL_HEADER: streamed.model, ATTEMPTS_HEADER: str(streamed.attempts), "cache-control": "no-cache"},
        )


async def _events(streamed: StreamServed, echo: dict[str, Any]) -> AsyncIterator[bytes]:
    events = ResponseEvents(streamed.model, echo)
    for event in events.start():
        yield _encode_event(event)
    # aclosing: a client that leaves mid-answer closes the upstream stream now, not at GC.
    async with aclosing(streamed.chunks) as chunks:  # type: ignore[type-var]
        try:
            async for chunk in chunks:
                for event in events.feed(chunk):
                    yield _encode_event(event)
        except errors.GatewayError as err:
            for event in events.fail(err):
                yield _encode_event(event)
            return
        except Exception:
            log.exception("responses stream failed")
            for event in events.fail(errors.internal_error("stream")):
                yield _encode_event(event)
            return
    for event in events.finish():
        yield _encode_event(event)

