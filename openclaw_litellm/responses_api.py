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

from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from openclaw_litellm import sse
from openclaw_litellm._http import answer, read_body
from openclaw_litellm.completions import ChatService, StreamServed
from openclaw_litellm.guarded_stream import guarded_stream
from openclaw_litellm.responses_events import ResponseEvents, response_from_completion
from openclaw_litellm.responses_request import parse_responses_request

__all__ = ["add_responses_route"]

# Request fields a response object repeats back.
_ECHO = {"instructions", "max_output_tokens", "parallel_tool_calls", "reasoning", "temperature", "text",
         "tool_choice", "tools", "top_p", "user", "metadata"}


def add_responses_route(app: FastAPI, service: ChatService) -> None:
    limit = app.state.config.serve.max_body_bytes

    @app.post("/v1/responses")
    async def responses(request: Request) -> Response:
        parsed = parse_responses_request(await read_body(request, limit))
        echo = parsed.model_dump(include=_ECHO, exclude_none=True)
        # As on the chat endpoint: a client that leaves before the answer starts cancels the call.
        return await answer(
            request, service, parsed.to_chat(),
            body=lambda completion: response_from_completion(completion, echo),
            events=lambda streamed: _events(streamed, echo),
        )


def _events(streamed: StreamServed, echo: dict[str, Any]) -> AsyncIterator[bytes]:
    """The response's events; a failure after the first byte ends them with ``response.failed``."""
    return guarded_stream(streamed.chunks, sse.NamedEvents(ResponseEvents(streamed.model, echo)), "responses")
