"""Process plumbing for the benchmark: spawn, wait for readiness, RSS and CPU from /proc, stop.

Every process the benchmark starts is tracked here and stopped (its own process group,
SIGTERM then SIGKILL) on exit, on error and on Ctrl-C. Nothing else is ever signalled.
"""

from __future__ import annotations

import atexit
import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["Proc", "free_port", "http_status", "wait_http", "rss_mb", "cpu_seconds", "stop_all"]

_started: list["Proc"] = []
_CLK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process in its own session, its output in ``log``."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(log, "wb")
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(argv, stdout=self._fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=env, cwd=cwd, start_new_session=True)
        _started.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_line(self, prefix: str, timeout: float) -> str:
        """The first line of the log starting with ``prefix`` (e.g. the stubs' READY line)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line
            if not self.alive():
                break
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not print {prefix!r} within {timeout:.0f} s; see {self.log}:\n{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 5.0) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        else:
            # the leader exited: make sure nothing it started lingers in its group
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not self._fh.closed:
            self._fh.close()
        if self in _started:
            _started.remove(self)


def stop_all() -> None:
    for proc in reversed(list(_started)):
        try:
            proc.stop(grace=3.0)
        except Exception:
            pass


atexit.register(stop_all)


def http_status(port: int, path: str, timeout: float = 1.0) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return None


def wait_http(port: int, path: str, *, timeout: float, proc: Proc | None = None, interval: float = 0.005) -> float | None:
    """Seconds (from ``proc``'s spawn, else from now) until GET ``path`` answers 200; None on timeout."""
    started = proc.started if proc is not None else time.perf_counter()
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if http_status(port, path) == 200:
            return time.perf_counter() - started
        if proc is not None and not proc.alive():
            return None
        time.sleep(interval)
    return None


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return pids


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` and its descendants, in MB (MiB)."""
    total = 0
    found = False
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        found = True
                        break
        except OSError:
            continue
    return round(total / 1024, 1) if found else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its live descendants."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / _CLK
