"""The FastAPI application: the gateway's endpoints, from request to answer.

The HTTP plumbing they share (error handlers, bounded body reads, the race against a client
that leaves, OpenAPI schema inlining) is in :mod:`openclaw_litellm._http`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from llmrouter.secrets import install_log_redaction
from llmrouter.state import StateStore, open_store
from llmrouter.utils.http_client import AsyncClient
from openclaw_litellm import metrics, sse
from openclaw_litellm._http import answer, inline_refs, install_error_handlers, json_response, read_body
from openclaw_litellm.auth import OPEN_PATHS, ApiKeyMiddleware
from openclaw_litellm.backend import LLMBackend
from openclaw_litellm.completions import ChatService, StreamServed
from llmrouter.config import OpenClawConfig
from openclaw_litellm.guarded_stream import guarded_stream
from openclaw_litellm.litellm_warmup import LiteLLMWarmup
from openclaw_litellm.openapi_doc import completion_responses, error_responses, json_body, ready_responses
from openclaw_litellm.observability import Drain, ObservabilityMiddleware
from llmrouter.provider_params import register_config_secrets
from llmrouter.startup_checks import log_startup_warnings
from openclaw_litellm.responses_api import add_responses_route
from llmrouter.routing import AUTO, Router
from openclaw_litellm.schemas import ChatRequest, parse_chat_request
from openclaw_litellm.websocket import add_websocket_route

__all__ = ["create_app"]

log = logging.getLogger("openclaw.startup")



def create_app(
    config: OpenClawConfig, *, prefix: bool | None = None, warmup: LiteLLMWarmup | None = None,
    client: AsyncClient | None = None, store: StateStore | None = None, drain: Drain | None = None,
) -> FastAPI:
    """The gateway for ``config``; ``prefix`` overrides ``serve.show_model_prefix``.

    ``client``: the HTTP client for OpenAI-compatible upstreams, owned (and closed) by the
    caller; by default the backend opens its own and the app's lifespan closes it.
    ``store``: the shared state (default: from ``state:``, closed with the app; one passed in
    belongs to the caller, who keeps it across reloads). ``drain``: the server's drain
    bookkeeping (SIGTERM), shared by every app a reload builds.
    """
    # Also when embedded in another server: no configured key in any log line or error.
    install_log_redaction()
    register_config_secrets(config)
    log_startup_warnings(config, log)  # once per app: what cannot answer yet, and how to fix it
    own_store = store is None
    store = store if store is not None else open_store(config.state.redis_url, config.state.prefix)
    backend = LLMBackend(config, warmup, client)
    router = Router(config, store=store)
    service = ChatService(router, backend, config.serve.show_model_prefix if prefix is None else prefix, store=store)
    created = int(time.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if backend.has_bedrock:
            backend.warmup.start()  # in a thread: /health answers meanwhile
        warm_up = getattr(store, "warm_up", None)
        if warm_up is not None:
            await warm_up()  # Redis: connect and load the scripts before the first request
        yield
        await service.accounting.flush()
        if own_store:
            await store.aclose()
        await backend.aclose()

    app = FastAPI(title="OpenClaw gateway", version="0.1.0", lifespan=lifespan)
    app.state.config = config
    app.state.service = service
    app.state.backend = backend

    install_error_handlers(app)

    @app.get("/health", responses={200: {"description": "The process is up (no check of the providers)"}})
    async def health() -> Response:
        return json_response({"status": "ok"})

    @app.get("/health/ready", responses=ready_responses())
    async def ready() -> Response:
        warm = backend.warmup
        ready_now = warm.loaded or not backend.has_bedrock
        body = {
            "status": "ready" if ready_now else "warming_up",
            "litellm_loaded": warm.loaded,
            "litellm_load_seconds": warm.seconds,
            "models": len(config.llms),
        }
        return json_response(body, 200 if ready_now else 503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE_LATEST)

    @app.get("/v1/models", responses={200: {"description": "`auto` and every model under `llms`"}, **error_responses(401)})
    async def models() -> Response:
        data = [{"id": AUTO, "object": "model", "created": created, "owned_by": "openclaw"}]
        data += [
            {"id": name, "object": "model", "created": created, "owned_by": "aws-bedrock" if llm.is_bedrock else llm.provider}
            for name, llm in config.llms.items()
        ]
        return json_response({"object": "list", "data": data})

    @app.post(
        "/v1/chat/completions",
        responses=completion_responses("A chat completion"),
        openapi_extra=json_body(inline_refs(ChatRequest.model_json_schema())),
    )
    async def chat_completions(request: Request) -> Response:
        chat = parse_chat_request(await read_body(request, config.serve.max_body_bytes))
        chat.apply_usage_policy(config.serve.usage_chunk)
        return await answer(request, service, chat, body=lambda completion: completion, events=_sse)

    add_websocket_route(app, service)
    add_responses_route(app, service)
    if config.serve.api_keys:
        open_paths = OPEN_PATHS if config.serve.metrics_auth else OPEN_PATHS | {"/metrics"}
        app.add_middleware(ApiKeyMiddleware, keys=config.serve.gateway_keys(), open_paths=open_paths)
    # Outermost: request ids, the access log and request metrics cover refused requests too.
    app.add_middleware(ObservabilityMiddleware, drain=drain or Drain(), json_log=config.serve.log_format == "json")
    return app


def _sse(streamed: StreamServed) -> AsyncIterator[bytes]:
    """The chat stream's SSE body; a failure after the first byte is an error event, then ``[DONE]``."""
    return guarded_stream(streamed.chunks, sse.ChatFrames(), "chat")
