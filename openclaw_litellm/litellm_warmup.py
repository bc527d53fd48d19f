"""Load LiteLLM in the background and register the Bedrock custom provider.

``import litellm`` takes seconds. The server answers ``/health`` at once and warms LiteLLM
in a thread when its config has Bedrock models, and runs one Bedrock transformation with no
network so that the first Bedrock request is as fast as the next; the first Bedrock request
waits for the warm-up, requests to other models never do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

import httpx2

from llmrouter.bedrock_deps import missing_bedrock_dependency
from llmrouter.provider_params import BEDROCK_CUSTOM_PROVIDER
from llmrouter.utils import converse_wire
from llmrouter.utils.converse_wire import CANNED_ANSWER
from llmrouter.utils.http_client import pooled_client
from llmrouter.utils.litellm_setup import load_litellm
from openclaw_litellm import heap

__all__ = ["LiteLLMWarmup"]

log = logging.getLogger("openclaw.warmup")


def _load_and_register() -> Any:
    litellm = load_litellm()
    if not any(p.get("provider") == BEDROCK_CUSTOM_PROVIDER for p in litellm.custom_provider_map):
        from openclaw_litellm.bedrock_handler import BedrockHandler

        litellm.custom_provider_map = [
            *litellm.custom_provider_map,
            {"provider": BEDROCK_CUSTOM_PROVIDER, "custom_handler": BedrockHandler()},
        ]
        # LiteLLM reads the map into its provider registry only when told to.
        litellm.utils.custom_llm_setup()
    _warm_bedrock_path(litellm)
    # What the import and the warm-up built lives as long as the process: out of the GC's way.
    heap.settle()
    return litellm


class _CannedConverse(httpx2.AsyncBaseTransport):
    """Answers every request with a canned Converse answer. Not one of the transports vcrpy
    patches, so a warm-up under ``--record`` / ``--replay`` neither records nor needs a cassette."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=CANNED_ANSWER, request=request)


def _warm_bedrock_path(litellm: Any) -> None:
    """One Bedrock call end to end (LiteLLM's custom provider, call_api, LiteLLM's Converse
    transformation, SigV4) on a canned transport, plus the streaming side's first-use loads:
    without it the first real request pays ~1 s of lazy imports and model builds."""
    started = time.perf_counter()
    try:
        converse_wire.warm_up()

        async def one_call() -> None:
            from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

            async with pooled_client(_CannedConverse()) as client:
                await litellm.acompletion(
                    model=f"{BEDROCK_CUSTOM_PROVIDER}/amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "-"}],
                    aws_region_name="us-east-1", api_base="http://warm-up.invalid", client=client, max_tokens=1, timeout=5.0,
                )
            # LiteLLM's logging worker started on this short-lived loop: let it finish the call's
            # success handler (its first use is warmed too), then stop it, so that the loop closes
            # with no pending task; the server's loop starts it afresh.
            await GLOBAL_LOGGING_WORKER.flush()
            await GLOBAL_LOGGING_WORKER.stop()

        asyncio.run(one_call())
    except Exception as exc:  # no credentials yet, say: the first request reports it properly
        log.info("Bedrock warm-up call skipped: %s", type(exc).__name__)
    log.debug("Bedrock path warmed in %.2f s", time.perf_counter() - started)


class LiteLLMWarmup:
    """Tracks the background import; ``await ready()`` returns the configured module.

    Requests wait on an asyncio future of their own event loop, which the warm-up thread
    completes with ``call_soon_threadsafe``. Waiting in an executor thread instead would
    hold one of the loop's few default-executor threads per waiting request (and keep it
    after the request is cancelled), and that executor also resolves host names for new
    upstream connections: a burst of Bedrock requests during the import would stall the
    other models.
    """

    def __init__(self) -> None:
        self._done = threading.Event()
        self._lock = threading.Lock()  # orders waiter registration against completion
        self._waiters: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}
        self._module: Any = None
        self._error: BaseException | None = None
        self.seconds: float | None = None
        self._thread: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self._done.is_set() and self._error is None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="litellm-warmup", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._module = _load_and_register()
        except BaseException as exc:  # reported to the requests that need it
            self._error = exc
            hint = " (pip install litellm)" if isinstance(exc, ImportError) else ""
            log.error("LiteLLM failed to load: %s%s; Bedrock models cannot answer", exc, hint)
        finally:
            self.seconds = time.perf_counter() - started
            with self._lock:
                self._done.set()
                waiters, self._waiters = self._waiters, {}
            for loop, future in waiters.items():
                with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits there
                    loop.call_soon_threadsafe(_resolve, future)
            if self._error is None:
                missing = missing_bedrock_dependency()
                if missing is None:
                    log.info("LiteLLM loaded in %.1f s; Bedrock models are ready", self.seconds)
                else:
                    log.warning("LiteLLM loaded in %.1f s, but Bedrock models cannot answer: %s", self.seconds, missing.message)

    async def ready(self) -> Any:
        if not self._done.is_set():
            self.start()
            future = self._waiter(asyncio.get_running_loop())
            if future is not None:
                # Shared by this loop's waiters: one of them being cancelled must not cancel it.
                await asyncio.shield(future)
        if self._error is not None:
            raise self._error
        return self._module

    def _waiter(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None] | None:
        """The future ``loop``'s requests wait on; None if the warm-up has finished meanwhile."""
        with self._lock:
            if self._done.is_set():
                return None
            future = self._waiters.get(loop)
            if future is None:
                future = self._waiters[loop] = loop.create_future()
            return future


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
