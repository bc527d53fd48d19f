"""One gateway process under uvicorn, with SIGHUP reload and SIGTERM drain.

- **SIGHUP**: :meth:`ReloadableApp.reload` (new config for new requests, streams in flight
  finish on the old one; a broken file is refused with one line in the log).
- **SIGTERM**: drain. The listening socket closes at once (no new connections; with several
  workers or instances the others take them), ``/health/ready`` answers 503 on connections
  still open, answers carry ``connection: close``, and requests and streams in flight run to
  their end, for at most ``serve.drain_timeout`` seconds. Then uvicorn's own shutdown closes
  what is left and the process exits 0. A second SIGTERM, or SIGINT, stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from types import FrameType

import uvicorn

from openclaw_litellm import heap
from openclaw_litellm.observability import Drain
from openclaw_litellm.reloadable import ReloadableApp

__all__ = ["GatewayServer"]

log = logging.getLogger("openclaw.server")


class GatewayServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: ReloadableApp, drain: Drain) -> None:
        super().__init__(config)
        self.gateway = app
        self.drain = drain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        heap.settle()  # the app and its imports, before the first request (see openclaw_litellm.heap)
        try:
            self._loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no SIGHUP
            pass

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_hup(self) -> None:
        log.info("SIGHUP: reloading the config")
        self._spawn(self.gateway.reload())

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # SIGTERM once: drain. Anything else (SIGINT, a second SIGTERM): uvicorn's own way.
        # The signal is not recorded for re-raising: after a drain the process exits 0.
        if sig == signal.SIGTERM and not self.drain.draining and self._loop is not None and self.started:
            self.drain.draining = True
            self._loop.call_soon_threadsafe(lambda: self._spawn(self._drain()))
            return
        if sig == signal.SIGTERM:
            self.should_exit = True
            self.force_exit = self.force_exit or self.drain.draining
            return
        super().handle_exit(sig, frame)

    async def _drain(self) -> None:
        started = time.monotonic()
        timeout = self.gateway.config.serve.drain_timeout  # the current config's (after reloads)
        log.info("SIGTERM: draining (%d request(s) in flight, up to %g s); /health/ready is 503", self.drain.active, timeout)
        for server in getattr(self, "servers", ()):
            server.close()  # stop accepting; open connections stay
        while self.drain.active > 0 and time.monotonic() - started < timeout:
            await asyncio.sleep(0.05)
        if self.drain.active:
            log.warning("drain timeout of %g s reached with %d request(s) still in flight; closing them", timeout, self.drain.active)
        else:
            log.info("drained in %.2f s", time.monotonic() - started)
        self.should_exit = True
