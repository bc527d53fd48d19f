"""The FastAPI application: endpoints and the mapping of errors to OpenAI's error shape."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmrouter import errors
from llmrouter.secrets import install_log_redaction
from llmrouter.utils import openai_compat
from openclaw_litellm import sse
from openclaw_litellm.auth import ApiKeyMiddleware
from openclaw_litellm.backend import LLMBackend
from openclaw_litellm.completions import ChatService
from openclaw_litellm.config import OpenClawConfig
from openclaw_litellm.litellm_warmup import LiteLLMWarmup
from openclaw_litellm.provider_params import register_config_secrets
from openclaw_litellm.routing import AUTO, Router
from openclaw_litellm.schemas import ChatRequest, parse_chat_request

__all__ = ["create_app"]

log = logging.getLogger("openclaw.app")

T = TypeVar("T")

MODEL_HEADER = "x-openclaw-model"
CLIENT_CLOSED = 499  # nginx's "client closed request": logged, never seen by the departed client
ATTEMPTS_HEADER = "x-openclaw-attempts"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def error_response(err: errors.GatewayError) -> Response:
    headers = {"retry-after": f"{err.retry_after:g}"} if err.retry_after else None
    return _json(err.to_dict(), err.status, headers)


def create_app(config: OpenClawConfig, *, prefix: bool | None = None, warmup: LiteLLMWarmup | None = None) -> FastAPI:
    """The gateway for ``config``; ``prefix`` overrides ``serve.show_model_prefix``."""
    # Also when embedded in another server: no configured key in any log line or error.
    install_log_redaction()
    register_config_secrets(config)
    backend = LLMBackend(config, warmup)
    router = Router(config)
    service = ChatService(router, backend, config.serve.show_model_prefix if prefix is None else prefix)
    created = int(time.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if backend.has_bedrock:
            backend.warmup.start()  # in a thread: /health answers meanwhile
        yield
        await openai_compat.aclose_clients()

    app = FastAPI(title="OpenClaw gateway", version="0.1.0", lifespan=lifespan)
    app.state.config = config
    app.state.service = service
    app.state.backend = backend

    @app.exception_handler(errors.GatewayError)
    async def _gateway_error(request: Request, exc: errors.GatewayError) -> Response:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(
            errors.GatewayError(
                f"{request.method} {request.url.path}: {exc.detail}", status=exc.status_code, type="invalid_request_error", code=code
            )
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(errors.bad_request(f"Invalid request: {exc.errors()[0].get('msg', 'bad input')}"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(
            errors.GatewayError("The gateway failed unexpectedly; see its log.", status=500, type="server_error", code="internal_error")
        )

    @app.get("/health")
    async def health() -> Response:
        return _json({"status": "ok"})

    @app.get("/health/ready")
    async def ready() -> Response:
        warm = backend.warmup
        ready_now = warm.loaded or not backend.has_bedrock
        body = {
            "status": "ready" if ready_now else "warming_up",
            "litellm_loaded": warm.loaded,
            "litellm_load_seconds": warm.seconds,
            "models": len(config.llms),
        }
        return _json(body, 200 if ready_now else 503)

    @app.get("/v1/models")
    async def models() -> Response:
        data = [{"id": AUTO, "object": "model", "created": created, "owned_by": "openclaw"}]
        data += [
            {"id": name, "object": "model", "created": created, "owned_by": "aws-bedrock" if llm.is_bedrock else llm.provider}
            for name, llm in config.llms.items()
        ]
        return _json({"object": "list", "data": data})

    @app.post(
        "/v1/chat/completions",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": inline_refs(ChatRequest.model_json_schema())}}}},
    )
    async def chat_completions(request: Request) -> Response:
        chat = parse_chat_request(await _read_body(request, config.serve.max_body_bytes))
        chat.apply_usage_policy(config.serve.usage_chunk)
        if not chat.stream:
            served = await _unless_client_leaves(request, service.complete(chat))
            if served is None:
                return Response(status_code=CLIENT_CLOSED)
            return _json(served.body, headers={MODEL_HEADER: served.model, ATTEMPTS_HEADER: str(served.attempts)})
        # Once streaming, Starlette's StreamingResponse notices a client leaving by itself.
        streamed = await _unless_client_leaves(request, service.stream(chat))
        if streamed is None:
            return Response(status_code=CLIENT_CLOSED)
        return StreamingResponse(
            _sse(streamed.chunks),
            media_type="text/event-stream",
            headers={MODEL_HEADER: streamed.model, ATTEMPTS_HEADER: str(streamed.attempts), "cache-control": "no-cache"},
        )

    from openclaw_litellm.websocket import add_websocket_route

    add_websocket_route(app, service)
    from openclaw_litellm.responses_api import add_responses_route

    add_responses_route(app, service)
    if config.serve.api_keys:
        app.add_middleware(ApiKeyMiddleware, keys=config.serve.api_keys)
    return app


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


async def _unless_client_leaves(request: Request, work: Awaitable[T]) -> T | None:
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


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> errors.GatewayError:
    return errors.GatewayError(
        f"The request body is larger than the gateway's limit of {limit} bytes (serve.max_body_bytes).",
        status=413, type="invalid_request_error", code="request_too_large",
    )


async def _sse(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """SSE bytes; a failure after the first byte becomes an error event, then ``[DONE]``."""
    try:
        async for chunk in chunks:
            yield sse.encode(chunk)
    except errors.GatewayError as err:
        yield sse.encode_error(err)
    except Exception:
        log.exception("stream failed")
        yield sse.encode_error(errors.GatewayError("The stream failed unexpectedly; see the gateway log.", status=500, type="server_error", code="internal_error"))
    yield sse.DONE
