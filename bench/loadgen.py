"""A closed-loop HTTP/1.1 load generator: raw asyncio + httptools (+ uvloop), one process.

Why not httpx/aiohttp/wrk: the client must stay far from being the bottleneck while it
measures per-request latency *and* time to first byte of a streamed body. httpx costs
~150 us of CPU per request and aiohttp ~80 us; this client sends pre-encoded request bytes
over ``concurrency`` keep-alive connections and parses responses with httptools (C), ~15 us
per request, so one core drives >20k req/s. wrk is fast but reports no per-request TTFT for
streams and would need Lua to check each body.

Each connection runs requests back to back (closed loop) until ``count`` requests have been
issued or ``max_seconds`` passed. Per request: latency (send -> last byte), TTFT (send ->
first body byte, i.e. the first SSE event for streams), status, and a body check (a
completion has ``"choices"``; a stream ends with ``data: [DONE]``). ``warmup`` requests run
first and are discarded.

    python -m bench.loadgen --url http://127.0.0.1:8000/v1/chat/completions \
        --model auto --concurrency 20 --count 1000 [--stream]

prints one JSON object (see :func:`summarize`).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools
import orjson

__all__ = ["main", "percentile", "run_load", "summarize"]

PROMPT = "Say hello in one short sentence."


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); q in [0, 100]."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def build_request(url: str, body: bytes, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    lines = [f"POST {path} HTTP/1.1", f"host: {host}:{port}", "content-type: application/json",
             f"content-length: {len(body)}", "connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Conn(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[None] | None = None
        self.first_body: float = 0.0
        self.status = 0
        self.body: list[bytes] = []
        self.keep_alive = True
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(exc or ConnectionResetError("connection closed by the server"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def on_message_begin(self) -> None:
        self.first_body = 0.0
        self.body = []

    def on_status(self, status: bytes) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if not self.first_body:
            self.first_body = time.perf_counter()
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        await self.waiter


@dataclass
class _Results:
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    error_sample: str = ""
    events: int = 0

    def error(self, kind: str, sample: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if not self.error_sample:
            self.error_sample = sample[:300]


def _check(body: bytes, stream: bool) -> tuple[bool, int]:
    if stream:
        return body.rstrip().endswith(b"data: [DONE]") and b"error" not in body[-300:], body.count(b"data:")
    return b'"choices"' in body, 1


async def _open(host: str, port: int) -> _Conn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(_Conn, host, port)
    return conn


async def run_load(host: str, port: int, request: bytes, *, stream: bool, concurrency: int, count: int,
                   max_seconds: float, timeout: float, check_body: bool = True) -> tuple[_Results, float]:
    results = _Results()
    issued = 0
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal issued
        conn: _Conn | None = None
        while issued < count and time.perf_counter() < deadline:
            issued += 1
            try:
                if conn is None or conn.lost or not conn.keep_alive:
                    if conn is not None and conn.transport is not None:
                        conn.transport.close()
                    conn = await _open(host, port)
                started = time.perf_counter()
                await asyncio.wait_for(conn.send(request), timeout)
                ended = time.perf_counter()
            except (OSError, asyncio.TimeoutError, httptools.HttpParserError) as exc:
                results.error(type(exc).__name__, repr(exc))
                if conn is not None and conn.transport is not None:
                    conn.transport.close()
                conn = None
                continue
            body = b"".join(conn.body)
            if conn.status != 200:
                results.error(f"http_{conn.status}", body.decode("utf-8", "replace"))
                continue
            ok, events = _check(body, stream) if check_body else (True, 0)
            if not ok:
                results.error("bad_body", body[-300:].decode("utf-8", "replace"))
                continue
            results.events += events
            results.latencies.append(ended - started)
            results.ttfts.append((conn.first_body or ended) - started)
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - began


def summarize(results: _Results, wall: float, *, concurrency: int, stream: bool) -> dict[str, object]:
    lat = sorted(results.latencies)
    ttft = sorted(results.ttfts)
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    out: dict[str, object] = {
        "concurrency": concurrency,
        "stream": stream,
        "ok": len(lat),
        "errors": sum(results.errors.values()),
        "error_kinds": results.errors,
        "wall_s": round(wall, 3),
        "rps": round(len(lat) / wall, 1) if wall > 0 else None,
        "latency_ms": {"p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)), "p99": ms(percentile(lat, 99)),
                       "mean": ms(sum(lat) / len(lat)) if lat else None, "min": ms(lat[0] if lat else None),
                       "max": ms(lat[-1] if lat else None)},
        "ttft_ms": {"p50": ms(percentile(ttft, 50)), "p90": ms(percentile(ttft, 90)), "p99": ms(percentile(ttft, 99))},
    }
    if stream and lat:
        out["events_per_stream"] = round(results.events / len(lat), 1)
    if results.error_sample:
        out["error_sample"] = results.error_sample
    return out


def chat_body(model: str, stream: bool, max_tokens: int = 64) -> bytes:
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": max_tokens}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return orjson.dumps(body)


def converse_body() -> bytes:
    return orjson.dumps({"messages": [{"role": "user", "content": [{"text": PROMPT}]}], "inferenceConfig": {"maxTokens": 64}})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="closed-loop HTTP load generator (prints one JSON summary)")
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--converse", action="store_true", help="send a Bedrock Converse body (to a Bedrock stub) instead of OpenAI chat")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=None, help="discarded requests first (default: max(10, concurrency))")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--header", action="append", default=[], help="extra 'name: value' header")
    args = parser.parse_args(argv)

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    body = converse_body() if args.converse else chat_body(args.model, args.stream)
    host, port, request = build_request(args.url, body, headers)
    check_body = not args.converse

    async def go() -> dict[str, object]:
        warm = args.warmup if args.warmup is not None else max(10, args.concurrency)
        if warm:
            await run_load(host, port, request, stream=args.stream, concurrency=min(args.concurrency, warm), count=warm,
                           max_seconds=args.max_seconds, timeout=args.timeout, check_body=check_body)
        results, wall = await run_load(host, port, request, stream=args.stream, concurrency=args.concurrency, count=args.count,
                                       max_seconds=args.max_seconds, timeout=args.timeout, check_body=check_body)
        return summarize(results, wall, concurrency=args.concurrency, stream=args.stream)

    summary = asyncio.run(go())
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
