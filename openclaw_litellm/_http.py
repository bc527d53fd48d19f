"""HTTP plumbing shared by the gateway's endpoints (``/v1/chat/completions``, ``/v1/responses``).

Kept out of :mod:`openclaw_litellm.app` so that the app reads as the request flow: what
each endpoint does, not how a body is read or an error rendered. Here:

- JSON and error responses (the catalog's OpenAI shape, ``retry-after`` when it has one);
- the error handlers every failure on the HTTP side ends in;
- the body read, bounded by ``serve.max_body_bytes`` even without a Content-Length;
- the race between an upstream call and a client that hangs up before the answer starts;
- a served chat as the HTTP answer: JSON or an SSE stream with the served model's headers, or
  499 when the client has left (:func:`answer`);
- the OpenAPI request-body schema, made resolvable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from llmrouter import errors

if TYPE_CHECKING:
    from openclaw_litellm.completions import ChatService, StreamServed
    from openclaw_litellm.schemas import ChatRequest

__all__ = [
    "ATTEMPTS_HEADER",
    "CLIENT_CLOSED",
    "MODEL_HEADER",
    "answer",
    "inline_refs",
    "install_error_handlers",
    "json_response",
    "read_body",
    "unless_client_leaves",
]

log = logging.getLogger("openclaw.app")

T = TypeVar("T")

MODEL_HEADER = "x-openclaw-model"
CLIENT_CLOSED = 499  # nginx's "client closed request": logged, never seen by the departed client
ATTEMPTS_HEADER = "x-openclaw-attempts"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _error_response(err: errors.GatewayError) -> Response:
    headers = {"retry-after": f"{err.retry_after:g}"} if err.retry_after else None
    return json_response(err.to_dict(), err.status, headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every failure on the HTTP side answers in OpenAI's error shape, from the catalog.

    There is no handler for FastAPI's RequestValidationError: no endpoint declares parameters
    for FastAPI to validate (bodies are read and validated by :mod:`openclaw_litellm.schemas`),
    and a test keeps it that way.
    """

    @app.exception_handler(errors.GatewayError)
    async def _gateway_error(request: Request, exc: errors.GatewayError) -> Response:
        return _error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_response(errors.http_error(exc.status_code, request.method, request.url.path, str(exc.detail)))

    @app.exception_handler(ClientDisconnect)
    async def _client_left(request: Request, exc: ClientDisconnect) -> Response:
        # The client hung up while sending its body: nobody reads this answer, nothing failed here.
        log.info("client left while sending the request body of %s %s", request.method, request.url.path)
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return _error_response(errors.internal_error())


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.request_too_large(limit)
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise errors.request_too_large(limit)
    return bytes(body)


async def unless_client_leaves(request: Request, work: Awaitable[T]) -> T | None:
    """``await work``, or cancel it and return None as soon as the client hangs up.

    Until the first byte of the answer nobody reads from the client, so without this a
    client that gives up (a timeout, Ctrl-C) would leave the upstream call running until the
    provider answers or ``timeout`` runs out, holding a connection and spending its tokens.
    The body has been read in full, so the next ASGI message can only be the disconnect.
    """
    task = asyncio.ensure_future(work)

    async def client_left() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(client_left())
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # this handler itself was cancelled (shutdown)
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    log.info("client left before the answer started; the upstream call was cancelled")
    return None


async def answer(
    request: Request,
    service: ChatService,
    chat: ChatRequest,
    body: Callable[[dict[str, Any]], Any],
    events: Callable[[StreamServed], AsyncIterator[bytes]],
) -> Response:
    """Serve ``chat``: ``body(completion)`` as JSON, or with ``stream`` the SSE ``events(streamed)``.

    Either carries the model that answered and the attempts it took; a client that leaves
    before the answer starts cancels the call and gets 499 (see :func:`unless_client_leaves`).
    Once streaming, Starlette's StreamingResponse notices a client leaving by itself.
    """
    if not chat.stream:
        served = await unless_client_leaves(request, service.complete(chat))
        if served is None:
            return Response(status_code=CLIENT_CLOSED)
        return json_response(body(served.body), headers={MODEL_HEADER: served.model, ATTEMPTS_HEADER: str(served.attempts)})
    streamed = await unless_client_leaves(request, service.stream(chat))
    if streamed is None:
        return Response(status_code=CLIENT_CLOSED)
    return StreamingResponse(
        events(streamed),
        media_type="text/event-stream",
        headers={MODEL_HEADER: streamed.model, ATTEMPTS_HEADER: str(streamed.attempts), "cache-control": "no-cache"},
    )


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``#/$defs/...`` references replaced by the definitions.

    Inside an OpenAPI document ``#/$defs/X`` would point at the document's root, where there
    is no ``$defs``: schema-driven clients and fuzzers could not resolve the request body.
    The request models are not recursive, so inlining terminates.
    """
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)
