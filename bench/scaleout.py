"""What sharing state in Redis costs a request, and what a second worker buys.

    python -m bench.scaleout [--count 3000] [--json]

Starts the OpenAI-compatible stub (no delay), a real ``redis-server`` on a loopback port and
``llmrouter serve`` processes, then drives them with :mod:`bench.loadgen`:

1. **Redis cost per request**: the same config (round robin over two models, a gateway key
   with rpm/tpm/budget limits, so every shared operation runs: the key's admission, the
   rotation, the cooldown read, the spend write) with state in process and with
   ``state.redis_url``, at concurrency 1 so latency is not queueing. Added p50 = Redis p50
   minus local p50 (target <= 0.3 ms). Also each store operation alone, in process.
2. **Two workers vs one**: ``serve.workers: 1`` and ``2`` (Redis state), concurrency 32, req/s.

The machine's cores are shared by the load generator, the stub, Redis and the gateway, so
req/s of two workers is bounded by what is left for them; the report says how many cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import loadgen
from bench.procs import Proc, free_port, stop_all, wait_http

KEY = "bench-gateway-key-0123456789"


def gateway_yaml(stub_url: str, redis_url: str | None, workers: int) -> str:
    state = f"state: {{redis_url: '{redis_url}'}}\n" if redis_url else ""
    llm = f"provider: vllm, base_url: '{stub_url}/v1', input_price: 1.0, output_price: 2.0"
    return (
        f"serve:\n  workers: {workers}\n  usage_chunk: requested\n"
        f"  api_keys: [{{key: {KEY}, rpm: 100000000, tpm: 1000000000, budget_usd: 1000000, budget_period: 1d}}]\n"
        f"{state}router: {{strategy: round_robin}}\n"
        f"llms:\n  one: {{model: one, {llm}}}\n  two: {{model: two, {llm}}}\n"
    )


def start_gateway(workdir: Path, name: str, text: str) -> tuple[Proc, int]:
    config = workdir / f"{name}.yaml"
    config.write_text(text)
    port = free_port()
    script = Path(sys.executable).with_name("llmrouter")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "llmrouter"]
    proc = Proc(name, [*argv, "serve", "--config", str(config), "--port", str(port), "--log-level", "warning"],
                workdir / f"{name}.log", env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    if wait_http(port, "/health/ready", timeout=60, proc=proc) is None:
        raise RuntimeError(f"{name} did not get ready:\n{proc.tail()}")
    if text.count("workers: 2"):
        time.sleep(3)  # the second worker imports the app too
    return proc, port


def load(port: int, *, concurrency: int, count: int) -> dict[str, object]:
    host, port, request = loadgen.build_request(
        f"http://127.0.0.1:{port}/v1/chat/completions", loadgen.chat_body("auto", False), {"authorization": f"Bearer {KEY}"})

    async def go() -> dict[str, object]:
        await loadgen.run_load(host, port, request, stream=False, concurrency=concurrency, count=min(count // 5, 500),
                               max_seconds=60, timeout=10)  # warm-up, discarded
        results, wall = await loadgen.run_load(host, port, request, stream=False, concurrency=concurrency, count=count,
                                               max_seconds=120, timeout=10)
        return loadgen.summarize(results, wall, concurrency=concurrency, stream=False)

    return asyncio.run(go())


def store_ops(redis_url: str, n: int = 2000) -> dict[str, float]:
    """p50 microseconds of each store operation alone (one event loop, one Redis connection)."""
    from llmrouter.state import KeyLimits, key_id
    from llmrouter.state.redis_store import RedisStore

    async def go() -> dict[str, float]:
        store = RedisStore(redis_url, prefix="bench:")
        limits = KeyLimits(rpm=10**9, tpm=10**9, budget_usd=10**6, budget_period=86400)
        key = key_id(KEY)
        ops = {
            "admit": lambda: store.admit(key, limits),
            "next_turn": lambda: store.next_turn("pool"),
            "failures": lambda: store.failures(["one", "two"]),
            "record_usage": lambda: store.record_usage(key, "one", 30, 0.0001, 86400),
        }
        out = {}
        for name, op in ops.items():
            times = []
            for _ in range(n):
                started = time.perf_counter()
                await op()
                times.append(time.perf_counter() - started)
            out[name] = round(statistics.median(times) * 1e6, 1)
        await store.aclose()
        return out

    return asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="requests per measurement (default 3000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        print("error: redis-server is not installed: apt-get install redis-server", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    report: dict[str, object] = {"cores": os.cpu_count()}
    try:
        stub_port = free_port()
        stub = Proc("stub", [sys.executable, "-m", "bench.upstreams.openai_stub", "--port", str(stub_port), "--delay-ms", "0"],
                    workdir / "stub.log")
        stub.wait_line("READY", 30)
        redis_port = free_port()
        redis = Proc("redis", [redis_binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                     workdir / "redis.log")
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        time.sleep(0.3)
        stub_url = f"http://127.0.0.1:{stub_port}"
        report["store_op_p50_us"] = store_ops(redis_url)

        latency = {}
        for name, url in (("local", None), ("redis", redis_url)):
            proc, port = start_gateway(workdir, f"c1-{name}", gateway_yaml(stub_url, url, 1))
            latency[name] = load(port, concurrency=1, count=args.count)
            proc.stop()
        p50 = {name: result["latency_ms"]["p50"] for name, result in latency.items()}  # type: ignore[index]
        report["latency_c1"] = latency
        report["redis_added_p50_ms"] = round(p50["redis"] - p50["local"], 3)

        rps = {}
        for workers in (1, 2):
            proc, port = start_gateway(workdir, f"w{workers}", gateway_yaml(stub_url, redis_url, workers))
            rps[f"workers_{workers}"] = load(port, concurrency=32, count=args.count * 2)
            proc.stop()
        report["throughput_c32"] = rps
        report["rps_two_vs_one"] = round(rps["workers_2"]["rps"] / rps["workers_1"]["rps"], 2)  # type: ignore[index]
        redis.stop()
        stub.stop()
    finally:
        stop_all()
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"cores: {report['cores']}")
        print(f"store operations alone, p50 us: {report['store_op_p50_us']} "
              "(record_usage is a deferred write: it includes the 5 ms batching delay by design)")
        print(f"p50 latency at concurrency 1: local state {p50['local']} ms, Redis {p50['redis']} ms "
              f"-> Redis adds {report['redis_added_p50_ms']} ms per request (target <= 0.3 ms)")
        for name, result in rps.items():
            print(f"{name}: {result['rps']} req/s at concurrency 32 (p50 {result['latency_ms']['p50']} ms, errors {result['errors']})")
        print(f"two workers / one worker: {report['rps_two_vs_one']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
