"""A real ``redis-server`` on a free loopback port, for the scale-out tests.

Debian's ``redis-server`` (``apt-get install redis-server``; ``.ci/run`` installs it). When it
is missing the tests fail and say so: a shared-state test that skipped would prove nothing.
Import the fixture into a test module: ``from scaleout_support import redis_server``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

START_DEADLINE_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
