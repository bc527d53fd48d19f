"""``serve.workers: N``: N gateway processes on one port, under a small supervisor.

Each of the N worker processes listens on the port with its own ``SO_REUSEPORT`` socket, so
the kernel spreads new connections evenly over them (one shared accept queue would let one
busy worker's event loop grab a burst of them). Each worker runs
:func:`openclaw_litellm.server.serve_one`; the supervisor holds a bound socket on the port so
that starting a second gateway on it fails at once.
Workers share state through the state store (``state.redis_url``; without it each has its
own, and the log says so) and metrics through prometheus_client's multiprocess mode, in a
directory made here before any worker imports prometheus_client.

Signals to the supervisor: SIGHUP checks the YAML first (a broken file is refused here with
one line in the log, workers untouched) and then has every worker reload; SIGTERM or SIGINT
has every worker drain, waits for them and exits 0. A worker that dies is replaced.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from typing import Any

__all__ = ["supervise"]

log = logging.getLogger("openclaw.workers")

POLL_S = 0.1
RESPAWN_DELAY_S = 1.0


def _bind(host: str, port: int, listen: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    return sock


def _drain_when_orphaned(supervisor: int) -> None:
    """A worker whose supervisor died (SIGKILL, OOM) drains and exits instead of lingering."""
    import threading

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def _worker(args: argparse.Namespace, host: str, port: int, supervisor: int, config: Any) -> None:
    """One worker, started on ``config``: the config the supervisor last validated, not the file
    as it is now (a respawn must not trip over a broken YAML that nobody has reloaded yet)."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the server's own handler is in place
    _drain_when_orphaned(supervisor)
    from llmrouter.recording import recording
    from openclaw_litellm.server import serve_one, setup_logging

    setup_logging(args.log_level, config.serve.log_format)
    sock = _bind(host, port, listen=True)
    with recording(None, args.replay, args.match_body):
        code = serve_one(args, config, sockets=[sock])
    raise SystemExit(code)


def supervise(args: argparse.Namespace, config: Any, host: str, port: int) -> int:
    """Run ``config.serve.workers`` workers until SIGTERM/SIGINT; the exit code."""
    from llmrouter.config import OpenClawConfig

    if args.record:
        log.error("--record needs serve.workers: 1 (several processes cannot write one recording)")
        return 2
    own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="llmrouter-metrics-")
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if not getattr(getattr(config, "state", None), "redis_url", None):
        log.warning("serve.workers: %d without state.redis_url: each worker keeps its own rate limits, "
                    "cooldowns and round robin (set state.redis_url to share them)", config.serve.workers)
    try:
        sock = _bind(host, port, listen=False)  # held, not listening: the port is ours
    except OSError as exc:
        log.error("cannot bind %s:%d: %s", host, port, exc.strerror or exc)
        return 2
    context = multiprocessing.get_context("spawn")
    workers: list[Any] = []

    validated = {"config": config}  # the last config that loaded: what a new worker starts on

    def start() -> Any:
        process = context.Process(
            target=_worker, args=(args, host, port, os.getpid(), validated["config"]), name="llmrouter-worker", daemon=False
        )
        process.start()
        return process

    events: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: events.append(signum))
                for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    try:
        workers = [start() for _ in range(config.serve.workers)]
        log.info("%d workers on http://%s:%d (pids %s)", len(workers), host, port, ", ".join(str(w.pid) for w in workers))
        stopping = False
        while not stopping:
            time.sleep(POLL_S)
            while events:
                signum = events.pop(0)
                if signum == signal.SIGHUP:
                    try:
                        validated["config"] = OpenClawConfig.from_yaml(args.config)
                    except ValueError as exc:
                        log.error("reload refused, still serving the previous config: %s", exc)
                        continue
                    log.info("SIGHUP: every worker reloads %s", args.config)
                    for worker in workers:
                        if worker.is_alive():
                            os.kill(worker.pid, signal.SIGHUP)
                else:
                    stopping = True
            if stopping:
                break
            for i, worker in enumerate(workers):
                if not worker.is_alive() and worker.exitcode == 2:  # the config the worker refused
                    log.error("worker %d refused to start (exit 2); stopping", worker.pid)
                    stopping = True
                    break
                if not worker.is_alive():
                    log.warning("worker %d exited with %s; starting a new one", worker.pid, worker.exitcode)
                    _mark_dead(worker.pid, metrics_dir)
                    time.sleep(RESPAWN_DELAY_S)
                    workers[i] = start()
        if stopping and any(w.exitcode == 2 for w in workers):
            for worker in workers:
                if worker.is_alive():
                    os.kill(worker.pid, signal.SIGTERM)
                worker.join(10)
            return 2
        log.info("stopping: every worker drains (up to %g s)", config.serve.drain_timeout)
        for worker in workers:
            if worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + config.serve.drain_timeout + 5
        for worker in workers:
            worker.join(max(deadline - time.monotonic(), 0.1))
            if worker.is_alive():
                log.warning("worker %d did not stop in time; killing it", worker.pid)
                worker.kill()
                worker.join(5)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        if own_metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _mark_dead(pid: int | None, metrics_dir: str) -> None:
    """Drop a dead worker's live gauges (streams in flight...) from the sums."""
    if pid is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, metrics_dir)
