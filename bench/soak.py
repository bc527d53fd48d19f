"""A bounded soak of the gateway on loopback: many concurrent streams for a while, then a verdict.

Starts the OpenAI-compatible stub (``bench.upstreams.openai_stub``) and a real
``llmrouter serve`` process in front of it, keeps ``--concurrency`` SSE streams open back to
back for ``--duration`` seconds, and reports requests, errors, latency, and the gateway's
memory (RSS), open file descriptors and threads: idle before, after a warm-up, sampled every
second, at the end and after the load has stopped. Memory must be *flat*: after the warm-up the
RSS may not keep growing (the steady-phase slope and the growth are reported and checked).

    python -m bench.soak              # 200 concurrent streams for 60 s (the default soak)
    python -m bench.soak --quick      # the same for 10 s
    python -m bench.soak --concurrency 50 --duration 30 --json soak.json

Everything runs on 127.0.0.1, every loop is bounded in time, and only the processes this
script started are stopped. Exit code 0 when there were no errors and memory stayed flat.
Not part of the test suite (too long); tests/resilience/test_disconnect.py checks leaks in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httptools

from bench.procs import Proc, free_port, rss_mb, wait_http

__all__ = ["SoakResult", "main", "run_soak"]

ROOT = Path(__file__).resolve().parent.parent
# Memory is flat when, after the warm-up, RSS grows by less than this (MB) and this (MB/min).
MAX_GROWTH_MB = 25.0
MAX_SLOPE_MB_PER_MIN = 10.0


@dataclass
class SoakResult:
    concurrency: int
    duration_s: float
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    ttfb: list[float] = field(default_factory=list)
    rss_idle_mb: float | None = None
    rss_warm_mb: float | None = None
    rss_end_mb: float | None = None
    rss_after_mb: float | None = None
    rss_samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds into the run, MB)
    fds_idle: int | None = None
    fds_after: int | None = None
    upstream_keepalive_after: int | None = None  # of fds_after: pooled connections to the upstream
    threads_idle: int | None = None
    threads_after: int | None = None
    healthy_after: bool = False

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def slope_mb_per_min(self, warmup_s: float) -> float | None:
        """Least-squares slope of RSS over the steady phase (after the warm-up)."""
        points = [(t, m) for t, m in self.rss_samples if t >= warmup_s]
        if len(points) < 3:
            return None
        n = len(points)
        mean_t = sum(t for t, _ in points) / n
        mean_m = sum(m for _, m in points) / n
        var = sum((t - mean_t) ** 2 for t, _ in points)
        if not var:
            return None
        return 60 * sum((t - mean_t) * (m - mean_m) for t, m in points) / var

    def summary(self, warmup_s: float) -> dict[str, object]:
        lat = sorted(self.latencies)
        ttfb = sorted(self.ttfb)
        growth = round(self.rss_end_mb - self.rss_warm_mb, 1) if self.rss_end_mb and self.rss_warm_mb else None
        slope = self.slope_mb_per_min(warmup_s)
        # A slope over less than half a minute is noise (allocator warm-up, GC): judge growth only.
        steady = self.duration_s - warmup_s
        flat = growth is not None and growth < MAX_GROWTH_MB and (slope is None or steady < 30 or slope < MAX_SLOPE_MB_PER_MIN)
        return {
            "concurrency": self.concurrency,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "requests_per_s": round(self.requests / self.duration_s, 1) if self.duration_s else None,
            "errors": self.error_count,
            "errors_by_kind": self.errors,
            "latency_ms": {"p50": _pct(lat, 50), "p99": _pct(lat, 99), "max": round(lat[-1] * 1000, 1) if lat else None},
            "ttfb_ms": {"p50": _pct(ttfb, 50), "p99": _pct(ttfb, 99)},
            "rss_mb": {"idle": self.rss_idle_mb, "after_warmup": self.rss_warm_mb, "end": self.rss_end_mb,
                       "after_load": self.rss_after_mb, "growth_after_warmup": growth,
                       "steady_slope_mb_per_min": round(slope, 2) if slope is not None else None},
            "fds": {"idle": self.fds_idle, "after_load": self.fds_after, "upstream_keepalive_after": self.upstream_keepalive_after},
            "threads": {"idle": self.threads_idle, "after_load": self.threads_after},
            "healthy_after": self.healthy_after,
            "memory_flat": flat,
            "ok": self.error_count == 0 and flat and self.healthy_after and self.requests > 0,
        }


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(len(values) * p / 100))] * 1000, 1)


def _proc_count(pid: int, what: str) -> int | None:
    try:
        if what == "fds":
            return len(os.listdir(f"/proc/{pid}/fd"))
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


def _connections_to(pid: int, port: int) -> int | None:
    """The process's established TCP connections to ``port`` (its pooled upstream connections,
    which stay open for the keep-alive period and are no leak): /proc, no dependency."""
    try:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as fh:
                for line in list(fh)[1:]:
                    fields = line.split()  # sl local rem st ... inode
                    if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                        count += 1
        return count
    except OSError:
        return None


# --- the client: keep-alive HTTP/1.1 streams parsed with httptools --------------------------------


class _Reply:
    """httptools callbacks for one response: status, body bytes, completion."""

    def __init__(self) -> None:
        self.status = 0
        self.body = bytearray()
        self.first_body_at: float | None = None
        self.done = asyncio.get_running_loop().create_future()
        self.keep_alive = True
        self.parser = httptools.HttpResponseParser(self)

    def on_status(self, status: bytes) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.first_body_at is None:
            self.first_body_at = time.perf_counter()
        self.body += body

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        if not self.done.done():
            self.done.set_result(None)


async def _one_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes, timeout: float) -> tuple[_Reply, float]:
    reply = _Reply()
    started = time.perf_counter()
    writer.write(request)

    async def read_all() -> None:
        while not reply.done.done():
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("the gateway closed the connection mid-answer")
            reply.parser.feed_data(data)

    await asyncio.wait_for(read_all(), timeout)
    return reply, started


def _check(reply: _Reply) -> str | None:
    """None for a complete, error-free stream; else the kind of error."""
    if reply.status != 200:
        return f"HTTP {reply.status}"
    body = bytes(reply.body)
    if not body.endswith(b"data: [DONE]\n\n"):
        return "no [DONE]"
    if b'"error"' in body:
        return "error event"
    return None


async def _worker(port: int, request: bytes, stop_at: float, result: SoakResult, timeout: float) -> None:
    reader = writer = None
    while time.perf_counter() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            reply, started = await _one_stream(reader, writer, request, timeout)
            result.requests += 1
            problem = _check(reply)
            if problem:
                result.errors[problem] = result.errors.get(problem, 0) + 1
            else:
                result.latencies.append(time.perf_counter() - started)
                if reply.first_body_at is not None:
                    result.ttfb.append(reply.first_body_at - started)
            if not reply.keep_alive:
                writer.close()
                reader = writer = None
        except (OSError, ConnectionError, TimeoutError, httptools.HttpParserError) as exc:
            result.requests += 1
            kind = type(exc).__name__
            result.errors[kind] = result.errors.get(kind, 0) + 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


async def _sample_rss(pid: int, start: float, stop_at: float, result: SoakResult) -> None:
    while time.perf_counter() < stop_at:
        rss = rss_mb(pid)
        if rss is not None:
            result.rss_samples.append((round(time.perf_counter() - start, 2), rss))
        await asyncio.sleep(1.0)


async def _load(port: int, gateway_pid: int, concurrency: int, duration: float, warmup: float, model: str, timeout: float, result: SoakResult) -> None:
    body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}).encode()
    request = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
               b"content-length: %d\r\n\r\n%s" % (len(body), body))
    start = time.perf_counter()
    stop_at = start + duration

    async def warm_mark() -> None:
        await asyncio.sleep(warmup)
        result.rss_warm_mb = rss_mb(gateway_pid)

    await asyncio.gather(
        warm_mark(),
        _sample_rss(gateway_pid, start, stop_at, result),
        *(_worker(port, request, stop_at, result, timeout) for _ in range(concurrency)),
    )
    result.rss_end_mb = rss_mb(gateway_pid)


# --- orchestration ---------------------------------------------------------------------------


def run_soak(concurrency: int = 200, duration: float = 60.0, *, chunks: int = 20, interval_ms: float = 50.0, delay_ms: float = 20.0,
             warmup: float | None = None, logs: Path | None = None, log: bool = True, settle: float = 2.0) -> tuple[SoakResult, dict[str, object]]:
    """Run one soak; returns the raw result and its summary (see :meth:`SoakResult.summary`)."""
    warmup = min(10.0, duration / 5) if warmup is None else warmup
    logs = logs or Path(tempfile.mkdtemp(prefix="openclaw-soak-"))
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

    def say(text: str) -> None:
        if log:
            print(text, file=sys.stderr, flush=True)

    stub = Proc("openai-stub", [sys.executable, "-m", "bench.upstreams.openai_stub", "--port", "0", "--chunks", str(chunks),
                                "--interval-ms", str(interval_ms), "--delay-ms", str(delay_ms)], logs / "stub.log", env=env, cwd=ROOT)
    gateway: Proc | None = None
    try:
        stub_port = int(stub.wait_line("READY openai", 30).split()[2])
        config = logs / "soak.yaml"
        config.write_text(
            "serve:\n  timeout: 30\n  max_body_bytes: 65536\n"
            f"llms:\n  stub:\n    provider: vllm\n    model: stub-model\n    base_url: http://127.0.0.1:{stub_port}/v1\n"
        )
        port = free_port()
        script = Path(sys.executable).with_name("llmrouter")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "llmrouter"]
        gateway = Proc("gateway", [*command, "serve", "--config", str(config), "--port", str(port), "--log-level", "warning"],
                       logs / "gateway.log", env=env, cwd=ROOT)
        if wait_http(port, "/health", timeout=60, proc=gateway) is None:
            raise RuntimeError(f"the gateway did not start; see {gateway.log}:\n{gateway.tail()}")
        time.sleep(settle / 2)  # let start-up allocations settle before the idle reading
        result = SoakResult(concurrency, duration)
        result.rss_idle_mb = rss_mb(gateway.pid)
        result.fds_idle = _proc_count(gateway.pid, "fds")
        result.threads_idle = _proc_count(gateway.pid, "threads")
        say(f"soak: {concurrency} concurrent streams for {duration:g} s against llmrouter serve (pid {gateway.pid}, port {port}); "
            f"stub: {chunks} chunks, {interval_ms:g} ms apart; idle RSS {result.rss_idle_mb} MB")
        asyncio.run(_load(port, gateway.pid, concurrency, duration, warmup, "stub", timeout=30.0, result=result))
        time.sleep(settle)  # connections close, buffers drain
        result.rss_after_mb = rss_mb(gateway.pid)
        result.fds_after = _proc_count(gateway.pid, "fds")
        result.upstream_keepalive_after = _connections_to(gateway.pid, stub_port)
        result.threads_after = _proc_count(gateway.pid, "threads")
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as health:
                result.healthy_after = health.status == 200 and gateway.alive()
        except OSError:
            result.healthy_after = False
        summary = result.summary(warmup)
        summary["warmup_s"] = warmup
        summary["logs"] = str(logs)
        return result, summary
    finally:
        if gateway is not None:
            gateway.stop()
        stub.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bounded loopback soak of `llmrouter serve` (streams, errors, flat memory).")
    parser.add_argument("--quick", action="store_true", help="10 s instead of --duration")
    parser.add_argument("--concurrency", type=int, default=200, help="concurrent streams (default 200)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per streamed answer (default 20)")
    parser.add_argument("--interval-ms", type=float, default=50.0, help="ms between the stub's chunks (default 50: ~1 s per stream)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="ms before the stub's first chunk (default 20)")
    parser.add_argument("--json", metavar="FILE", help="also write the summary (and RSS samples) to FILE")
    args = parser.parse_args(argv)
    duration = 10.0 if args.quick else args.duration
    if not 0 < duration <= 3600 or not 0 < args.concurrency <= 2000:
        parser.error("--duration must be in (0, 3600] s and --concurrency in (0, 2000]")
    result, summary = run_soak(args.concurrency, duration, chunks=args.chunks, interval_ms=args.interval_ms, delay_ms=args.delay_ms)
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({**summary, "rss_samples": result.rss_samples}, indent=2))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
