"""What one more process on the path costs on this machine, whatever runs in it.

    python -m bench.hop_floor [--runs 3] [--count 400]

Starts the OpenAI-compatible stub (50 ms to answer, as in ``python -m bench``) and
:mod:`bench.upstreams.tcp_relay` in front of it, and drives both with :mod:`bench.loadgen`,
non-streamed and streamed, at concurrency 1 and 20, the targets interleaved, ``--runs`` times.
The relay parses nothing and copies bytes: the latency it adds over the stub is the floor of
any gateway's "added" latency here (two more socket hops, and waking an idle process up
after each 50 ms wait). Compare it with ``python -m bench``'s added p50 / p99.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

from bench.procs import Proc, stop_all
from bench.run import BENCH, ROOT, child_env, log

__all__ = ["main"]


def _loadgen(env: dict[str, str], port: int, *, stream: bool, concurrency: int, count: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.loadgen", "--url", f"http://127.0.0.1:{port}/v1/chat/completions", "--model", "bench-model",
            "--concurrency", str(concurrency), "--count", str(count), "--max-seconds", "30"]
    if stream:
        argv.append("--stream")
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hop_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=400, help="requests per measurement at concurrency 20 (a quarter at 1)")
    args = parser.parse_args(argv)
    env = child_env(ROOT)
    logs = BENCH / "results" / "hop-floor-logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        stub = Proc("openai-stub", [sys.executable, "-m", "bench.upstreams.openai_stub", "--port", "0", "--delay-ms", "50"],
                    logs / "stub.log", env=env, cwd=ROOT)
        stub_port = int(stub.wait_line("READY", 30).split()[2])
        relay = Proc("relay", [sys.executable, "-m", "bench.upstreams.tcp_relay", "--target-port", str(stub_port)],
                     logs / "relay.log", env=env, cwd=ROOT)
        relay_port = int(relay.wait_line("READY", 30).split()[2])
        added: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.runs):
            for mode in ("json", "stream"):
                for c in (1, 20):
                    n = args.count if c > 1 else max(40, args.count // 4)
                    direct = _loadgen(env, stub_port, stream=mode == "stream", concurrency=c, count=n)
                    hop = _loadgen(env, relay_port, stream=mode == "stream", concurrency=c, count=n)
                    slot = added.setdefault(f"{mode}-c{c}", {"p50": [], "p99": []})
                    for p in ("p50", "p99"):
                        slot[p].append(round(hop["latency_ms"][p] - direct["latency_ms"][p], 3))
                    log(f"{mode}-c{c}: relay adds p50 {slot['p50'][-1]} ms, p99 {slot['p99'][-1]} ms")
    finally:
        stop_all()
    print(f"A do-nothing TCP relay in front of the 50 ms stub, added latency (ms), medians of {args.runs} runs [each run]:\n")
    print("| scenario | added p50 | added p99 |\n|---|---|---|")
    for key, slot in added.items():
        print(f"| {key} | {statistics.median(slot['p50']):.2f} {slot['p50']} | {statistics.median(slot['p99']):.2f} {slot['p99']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
