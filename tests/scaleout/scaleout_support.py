"""A real ``redis-server`` on a free loopback port, for the scale-out tests.

Debian's ``redis-server`` (``apt-get install redis-server``; ``.ci/run`` installs it). When it
is missing the tests fail and say so: a shared-state test that skipped would prove nothing.
Import the fixture into a test module: ``from scaleout_support import redis_server``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from real_server import free_port, llmrouter_command

START_DEADLINE_S = 10.0



class RedisServer:
    """One ``redis-server`` process: no persistence, loopback only; can be killed and restarted."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; the scale-out tests need a real one: apt-get install redis-server")
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--protected-mode", "yes"],
            stdout=(self.workdir / "redis.log").open("ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"redis-server exited with {self.proc.returncode}: {(self.workdir / 'redis.log').read_text()[-2000:]}")
            try:
                if self.client().ping():
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.02)
        pytest.fail(f"redis-server did not answer PING within {START_DEADLINE_S} s")

    def kill(self) -> None:
        """Gone at once, like a crashed or partitioned Redis (SIGKILL: no goodbye)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client(self):  # noqa: ANN201 - redis.Redis
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, decode_responses=True)

    def dump(self) -> str:
        """Every key and value in the server as text, to look for what must not be there."""
        client = self.client()
        lines = []
        for key in client.scan_iter("*"):
            kind = client.type(key)
            value = {"hash": client.hgetall, "string": client.get}.get(kind, lambda k: kind)(key)
            lines.append(f"{key} {value}")
        return "\n".join(lines)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


# --- real `llmrouter serve` processes ----------------------------------------------------------

READY_DEADLINE_S = 30.0



class Gateway:
    """One ``llmrouter serve`` process on a free loopback port, its log in a file."""

    def __init__(self, workdir: Path, name: str, config_text: str, *args: str) -> None:
        import os

        self.config = workdir / f"{name}.yaml"
        self.config.write_text(config_text)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        self.proc = subprocess.Popen(
            [*llmrouter_command(), "serve", "--config", str(self.config), "--port", str(self.port), *args],
            cwd=Path(__file__).resolve().parents[2], env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches the workers too
        )

    def wait_ready(self) -> "Gateway":
        import httpx

        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"llmrouter serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(f"not ready within {READY_DEADLINE_S} s:\n{self.log.read_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_log(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()
            if needle in text:
                return text
            time.sleep(0.05)
        pytest.fail(f"{needle!r} not in the log within {timeout} s:\n{self.log_text()}")

    def stop(self) -> None:
        import os
        import signal

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of its group (workers)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(10)


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator:
    """``gateways(name, config_text, *args) -> Gateway`` (started, not yet ready); killed after."""
    started: list[Gateway] = []

    def start(name: str, config_text: str, *args: str) -> Gateway:
        started.append(Gateway(tmp_path, name, config_text, *args))
        return started[-1]

    yield start
    for gateway in started:
        gateway.stop()


def loopback_route(request):  # noqa: ANN001, ANN201 - UpstreamRequest -> StubReply
    """An OpenAI-compatible upstream whose answer names the model it was asked for.

    ``down-*`` models answer 503; ``slow-*`` stream ten pieces 0.1 s apart. Usage is always
    (3 prompt, 5 completion) tokens.
    """
    from loopback import StubReply, openai_completion_body, openai_sse_parts

    body = request.json()
    model = body.get("model", "?")
    if model.startswith("down"):
        return StubReply(status=503, body={"error": {"message": "overloaded"}})
    if body.get("stream"):
        pieces = [f"{model} ", *(f"part{i} " for i in range(9))] if model.startswith("slow") else [f"answer from {model}"]
        return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(pieces, model),
                         interval=0.1 if model.startswith("slow") else 0.0)
    return StubReply(headers={"content-type": "application/json"}, body=openai_completion_body(f"answer from {model}", model))
