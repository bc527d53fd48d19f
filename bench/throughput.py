"""Requests per second when the gateway's CPU is the limit: ours against LiteLLM's proxy.

    python -m bench.throughput [--runs 3] [--seconds 6] [--skip-litellm]

``python -m bench`` measures latency against an upstream that takes 50 ms to answer. At
concurrency 20 that caps any gateway at 20 / 0.05 s = 400 req/s, so a "req/s vs LiteLLM's
proxy" ratio read there is capped too (our gateway serves what the upstream serves). Here the
OpenAI-compatible stub answers at once (0 ms, streams 20 chunks back to back), so each
gateway serves as many requests as its CPU allows, which is what the ratio is about.

Side by side, in one run, for non-streamed and streamed requests at concurrency 20: the stub
directly, ``llmrouter serve`` with ``serve.workers: 1`` and ``2``, and LiteLLM's proxy with
``--num_workers 1`` and ``2`` (its own virtualenv, as in :mod:`bench.run`). Each is measured ``--runs``
times, the targets interleaved (so a burst of noise from the shared machine lands on all of
them), for ``--seconds`` each; the report gives medians, the CPU each gateway spent per request
(its whole process tree) and the ratio of medians. The load generator, the stub and the
gateway share the machine's cores, so two workers can only use what is left of them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.procs import Proc, cpu_seconds, free_port, stop_all, wait_http
from bench.run import BENCH, LITELLM_MASTER_KEY, ROOT, child_env, ensure_litellm_proxy, gateway_yaml, litellm_yaml, log

__all__ = ["main"]

CONCURRENCY = 20
MODES = ("json", "stream")


def _loadgen(env: dict[str, str], url: str, model: str, *, stream: bool, seconds: float, headers: list[str]) -> dict[str, Any]:
    # count is an upper bound: the run stops after `seconds` and reports what completed.
    argv = [sys.executable, "-m", "bench.loadgen", "--url", url, "--model", model, "--concurrency", str(CONCURRENCY),
            "--count", "1000000", "--max-seconds", str(seconds), "--warmup", "100"]
    if stream:
        argv.append("--stream")
    for header in headers:
        argv += ["--header", header]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=seconds * 3 + 60)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Target:
    """One thing to drive: a URL, the model name it serves, and the process tree whose CPU counts."""

    def __init__(self, name: str, url: str, model: str, pid: int | None, headers: list[str] | None = None) -> None:
        self.name, self.url, self.model, self.pid, self.headers = name, url, model, pid, headers or []
        self.runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}

    def measure(self, env: dict[str, str], mode: str, seconds: float) -> dict[str, Any]:
        before = cpu_seconds(self.pid) if self.pid else 0.0
        result = _loadgen(env, self.url, self.model, stream=mode == "stream", seconds=seconds, headers=self.headers)
        served = result["ok"] + result["errors"] + 100  # the warm-up requests cost CPU too
        if self.pid:
            result["cpu_ms_per_request"] = round((cpu_seconds(self.pid) - before) * 1000 / served, 3)
        result["loadavg_1m"] = round(os.getloadavg()[0], 2)
        self.runs[mode].append(result)
        return result

    def summary(self, mode: str) -> dict[str, Any]:
        runs = self.runs[mode]
        cpu = [r["cpu_ms_per_request"] for r in runs if r.get("cpu_ms_per_request") is not None]
        return {"rps_median": statistics.median(r["rps"] for r in runs), "rps_runs": [r["rps"] for r in runs],
                "cpu_ms_per_request_median": statistics.median(cpu) if cpu else None,
                "errors": sum(r["errors"] for r in runs), "p50_ms_median": statistics.median(r["latency_ms"]["p50"] for r in runs)}


def _gateway(logs: Path, env: dict[str, str], stub_port: int, workers: int) -> tuple[Proc, int]:
    port = free_port()
    text = gateway_yaml(port, stub_port, None, workers)
    config = logs / f"llmrouter-w{workers}.yaml"
    config.write_text(text)
    proc = Proc(f"llmrouter-w{workers}", [sys.executable, "-m", "llmrouter", "serve", "--config", str(config), "--port", str(port),
                                          "--log-level", "warning"], logs / f"llmrouter-w{workers}.log", env=env, cwd=ROOT)
    if wait_http(port, "/health/ready", timeout=120, proc=proc, interval=0.02) is None:
        raise RuntimeError(f"llmrouter serve (workers {workers}) did not get ready:\n{proc.tail()}")
    time.sleep(2.0 if workers > 1 else 0.5)  # every worker imports the app before it accepts
    return proc, port


def _proxy(logs: Path, env: dict[str, str], stub_port: int, spec: str, workers: int) -> tuple[Proc, int, str] | None:
    try:
        litellm_bin, version = ensure_litellm_proxy(spec, logs)
    except (subprocess.CalledProcessError, OSError) as exc:
        log(f"LiteLLM proxy install failed ({exc}); measuring our gateway only")
        return None
    port = free_port()
    config = logs / "litellm-proxy.yaml"
    config.write_text(litellm_yaml(stub_port, free_port()))  # the Bedrock model is not driven here
    proc = Proc(f"litellm-proxy-w{workers}", [str(litellm_bin), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
                                              "--num_workers", str(workers)], logs / f"litellm-proxy-w{workers}.log", env=env, cwd=logs)
    if wait_http(port, "/health/liveliness", timeout=240, proc=proc, interval=0.05) is None:
        log(f"LiteLLM proxy did not start:\n{proc.tail()}")
        proc.stop()
        return None
    time.sleep(1.0 + 2.0 * (workers - 1))  # every worker loads the proxy before it accepts
    return proc, port, version


def run(args: argparse.Namespace) -> dict[str, Any]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results = BENCH / "results"
    logs = results / f"{stamp}-throughput-logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = child_env(ROOT)
    stub = Proc("openai-stub", [sys.executable, "-m", "bench.upstreams.openai_stub", "--port", "0", "--delay-ms", "0",
                                "--chunks", "20", "--interval-ms", "0"], logs / "openai-stub.log", env=env, cwd=ROOT)
    stub_port = int(stub.wait_line("READY", 30).split()[2])
    chat = "/v1/chat/completions"
    targets = [Target("direct", f"http://127.0.0.1:{stub_port}{chat}", "bench-model", None)]
    version = None
    for workers in (1, 2):
        proc, port = _gateway(logs, env, stub_port, workers)
        targets.append(Target(f"llmrouter-w{workers}", f"http://127.0.0.1:{port}{chat}", "bench", proc.pid))
    for workers in () if args.skip_litellm else (1, 2):
        started = _proxy(logs, env, stub_port, args.litellm_spec, workers)
        if started is not None:
            proc, port, version = started
            targets.append(Target(f"litellm-proxy-w{workers}", f"http://127.0.0.1:{port}{chat}", "bench", proc.pid,
                                  [f"authorization: Bearer {LITELLM_MASTER_KEY}"]))
    for i in range(args.runs):
        for mode in MODES:
            for target in targets:
                r = target.measure(env, mode, args.seconds)
                log(f"run {i + 1}/{args.runs} {mode:6s} {target.name:14s} {r['rps']:8.1f} req/s  "
                    f"CPU {r.get('cpu_ms_per_request', '-')} ms/req  errors {r['errors']}")
    report: dict[str, Any] = {"concurrency": CONCURRENCY, "seconds_per_run": args.seconds, "runs": args.runs, "litellm_proxy": version,
                              "cpus": os.cpu_count(), "targets": {t.name: {m: t.summary(m) for m in MODES} for t in targets},
                              "raw": {t.name: t.runs for t in targets}}
    out = results / f"{stamp}-throughput.json"
    out.write_text(json.dumps(report, indent=1))
    report["_out"] = str(out.relative_to(ROOT))
    return report


def markdown(report: dict[str, Any]) -> str:
    t = report["targets"]
    lines = [f"Concurrency {report['concurrency']}, upstream answering at once, medians of {report['runs']} runs of "
             f"{report['seconds_per_run']} s (LiteLLM proxy {report['litellm_proxy'] or 'not run'}), {report['cpus']} CPUs.", "",
             "| target | JSON req/s | JSON CPU ms/req | SSE req/s | SSE CPU ms/req | JSON ÷ proxy (same workers) | SSE ÷ proxy (same workers) |", "|---|---|---|---|---|---|---|"]
    for name, modes in t.items():
        # Our gateway with N workers against the proxy with N workers.
        proxy = t.get(f"litellm-proxy-{name.rsplit('-', 1)[-1]}") if name.startswith("llmrouter") else None
        ratios = [f"{modes[m]['rps_median'] / proxy[m]['rps_median']:.1f}x" if proxy and proxy[m]["rps_median"] else "-" for m in MODES]
        cpu = [f"{modes[m]['cpu_ms_per_request_median']:.2f}" if modes[m]["cpu_ms_per_request_median"] is not None else "-" for m in MODES]
        lines.append(f"| {name} | {modes['json']['rps_median']:.0f} | {cpu[0]} | {modes['stream']['rps_median']:.0f} | {cpu[1]} | {ratios[0]} | {ratios[1]} |")
    errors = {name: sum(modes[m]["errors"] for m in MODES) for name, modes in t.items()}
    lines += ["", f"Errors: {errors}. Results: {report['_out']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measurements per target and mode (medians reported)")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each measurement")
    parser.add_argument("--skip-litellm", action="store_true", help="do not install or run LiteLLM's proxy")
    parser.add_argument("--litellm-spec", default="litellm[proxy]", help="pip requirement for the proxy's venv (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        report = run(args)
    finally:
        stop_all()
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
