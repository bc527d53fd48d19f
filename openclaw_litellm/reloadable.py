"""Config reload without a restart: the app is rebuilt from the new YAML and swapped in.

:class:`ReloadableApp` is the ASGI app uvicorn serves. It hands each request to the current
*generation* (one app built from one config). :meth:`ReloadableApp.reload` loads the file
again; a config that loads and builds becomes the new generation, for new requests and
connections only: a request or stream in flight keeps the app it started on, to its end.
The old generation's lifespan (its HTTP clients...) is closed once its last request is done.
A config that fails is refused with the usual one-line error in the log, and the current
generation keeps serving.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ReloadableApp"]

log = logging.getLogger("openclaw.reload")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Generation:
    def __init__(self, number: int, app: Any, config: Any) -> None:
        self.number = number
        self.app = app
        self.config = config
        self.active = 0
        self.retired = False
        self.lifespan: contextlib.AsyncExitStack | None = None


class ReloadableApp:
    """Serves ``build(load())``; ``reload()`` swaps in ``build(load())`` again if it succeeds.

    ``load`` raises ValueError (ConfigError is one) with a one-line message for a bad file;
    ``build`` may raise ValueError too (a config the app refuses). The apps are FastAPI or
    Starlette apps: their lifespans are entered here, not by the server.
    """

    def __init__(self, load: Callable[[], Any], build: Callable[[Any], Any], config: Any | None = None) -> None:
        self.load = load
        self.build = build
        config = config if config is not None else load()
        self.current = _Generation(1, build(config), config)
        self._started = False

    @property
    def config(self) -> Any:
        return self.current.config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        generation = self.current
        generation.active += 1
        try:
            await generation.app(scope, receive, send)
        finally:
            generation.active -= 1
            if generation.retired and generation.active == 0:
                await self._close(generation)

    async def reload(self) -> bool:
        """Load and build the config again; True when the new one now serves."""
        try:
            config = self.load()
            app = self.build(config)
        except ValueError as exc:
            log.error("reload refused, still serving the previous config: %s", str(exc).splitlines()[0] if str(exc) else exc)
            return False
        except Exception:  # noqa: BLE001 - a reload must never take the server down
            log.exception("reload failed, still serving the previous config")
            return False
        generation = _Generation(self.current.number + 1, app, config)
        if self._started:
            try:
                await self._open(generation)
            except Exception:  # noqa: BLE001
                log.exception("reload failed while starting the new config; still serving the previous one")
                return False
        old, self.current = self.current, generation
        old.retired = True
        log.info("config reloaded from %s (generation %d); requests in flight finish on the previous one",
                 getattr(config, "source", "?"), generation.number)
        if old.active == 0:
            await self._close(old)
        return True

    async def _open(self, generation: _Generation) -> None:
        stack = contextlib.AsyncExitStack()
        router = getattr(generation.app, "router", None)
        lifespan = getattr(router, "lifespan_context", None)
        if lifespan is not None:
            await stack.enter_async_context(lifespan(generation.app))
        generation.lifespan = stack

    async def _close(self, generation: _Generation) -> None:
        stack, generation.lifespan = generation.lifespan, None
        if stack is not None:
            try:
                await stack.aclose()
            except Exception:  # noqa: BLE001
                log.exception("closing the previous config's resources failed")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._open(self.current)
                except Exception as exc:  # noqa: BLE001
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self._started = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._close(self.current)
                await send({"type": "lifespan.shutdown.complete"})
                return
