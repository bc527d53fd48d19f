"""A real uvicorn server on 127.0.0.1 in a daemon thread: the gateway, or any ASGI app.

What a client sees is what uvicorn itself does (TestClient only emulates the ASGI server).
:class:`RunningGateway` builds the gateway from a config; :func:`serving` serves an app it is
given with the uvicorn options under test (``ws_max_size``...). For a spawned
``llmrouter serve`` process: :func:`llmrouter_command`, :func:`free_port`, :func:`wait_for_ok`
and :func:`stop_process`.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from collections.abc import Iterator
from typing import Any


class RunningServer:
    """``app`` served by uvicorn on a free loopback port until :meth:`stop`."""

    def __init__(self, app: Any, **options: Any) -> None:
        import uvicorn

        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **options))
        self.thread = threading.Thread(target=self.server.run, name="real-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class RunningGateway(RunningServer):
    """The gateway for ``config`` (a dict or an OpenClawConfig), with an OpenAI SDK client at hand."""

    def __init__(self, config: object, prefix: bool | None = None) -> None:
        from openclaw_litellm.app import create_app
        from llmrouter.config import OpenClawConfig

        if isinstance(config, dict):
            config = OpenClawConfig.from_dict(config)
        self.config = config
        super().__init__(create_app(config, prefix=prefix))
        self.base_url = f"{self.url}/v1"

    def client(self, **kwargs: object):  # noqa: ANN201 - openai.OpenAI
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key="sk-client-not-checked", max_retries=0, timeout=30, **kwargs)

    def aclient(self, **kwargs: object):  # noqa: ANN201 - openai.AsyncOpenAI
        import openai

        return openai.AsyncOpenAI(base_url=self.base_url, api_key="sk-client-not-checked", max_retries=0, timeout=30, **kwargs)


@contextlib.contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """``with serving(app, ws_max_size=...) as url:`` where url is ``http://127.0.0.1:PORT``."""
    running = RunningServer(app, **options)
    try:
        yield running.url
    finally:
        running.stop()


def wait_for_ok(proc: Any, url: str, log: Any, *, deadline_s: float, poll_s: float = 0.05) -> None:
    """Poll ``url`` until it answers 200, for a spawned ``llmrouter serve`` (``proc``, its ``log``
    file): a process that exits or stays unready fails the test with its log."""
    import httpx
    import pytest

    deadline = time.monotonic() + deadline_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"llmrouter serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(poll_s)
    pytest.fail(f"no 200 from {url} within {deadline_s} s:\n{log.read_text()}")


def llmrouter_command() -> list[str]:
    """The installed ``llmrouter`` script of this interpreter, else ``python -m llmrouter``."""
    script = Path(sys.executable).with_name("llmrouter")
    return [str(script)] if script.exists() else [sys.executable, "-m", "llmrouter"]


def free_port() -> int:
    """A loopback port free right now (for a server the test spawns)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM (the gateway drains and exits), SIGKILL if it is still there after ``grace_s``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
