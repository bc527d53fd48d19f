"""The gateway benchmark: ``python -m bench`` (full, ~6 min) or ``python -m bench --quick`` (~2-3 min).

Starts everything itself on 127.0.0.1 and stops it afterwards:

1. the stub upstreams (:mod:`bench.upstreams.openai_stub`, :mod:`bench.upstreams.bedrock_stub`),
   each in its own process;
2. ``llmrouter serve`` with a config holding one OpenAI-compatible and one Bedrock model
   (the Bedrock one reaches the stub through ``base_url``, dummy AWS credentials);
3. LiteLLM's proxy with the equivalent config, from its own virtualenv
   (``bench/.venv-litellm-proxy``, created on first use with ``pip install 'litellm[proxy]'``,
   then reused);

and drives each with :mod:`bench.loadgen` (its own process) at concurrency 1, 20 and 100,
non-streamed and streamed, plus the upstream directly as the baseline. Results go to
``bench/results/<timestamp>.json``; a markdown summary goes to stdout. See docs/benchmark.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.procs import Proc, cpu_seconds, free_port, rss_mb, stop_all, wait_http

__all__ = ["main"]

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROXY_VENV = BENCH / ".venv-litellm-proxy"
LITELLM_MASTER_KEY = "sk-bench-master-key"

MODES = ("json", "stream")
SOAK_CONCURRENCY = 20
CONCURRENCY = (1, 20, 100)

PLANS: dict[str, dict[str, Any]] = {
    "full": {
        "counts": {1: 100, 20: 1500, 100: 3000},
        "litellm_counts": {1: 50, 20: 300, 100: 500},
        "bedrock_json": 150, "bedrock_stream": 10, "raw_stream": 10,
        "soak": 10000, "soak_seconds": 75.0, "help_runs": 7, "max_seconds": 40.0,
    },
    "quick": {
        "counts": {1: 40, 20: 400, 100: 800},
        "litellm_counts": {1: 20, 20: 100, 100: 200},
        "bedrock_json": 40, "bedrock_stream": 5, "raw_stream": 5,
        "soak": 3000, "soak_seconds": 30.0, "help_runs": 3, "max_seconds": 15.0,
    },
}

TARGETS = {  # issue 14
    "added_p50_ms": 1.0,
    "added_p99_ms_c20": 5.0,
    "rps_vs_litellm_c20": 25.0,
    "bedrock_added_p50_ms": 5.0,
    "streams50_ratio": 1.5,
    "first_bedrock_added_ms": 50.0,
    "help_s": 0.5,
    "health_s": 2.0,
    "idle_rss_mb": 150.0,
    "rss_growth": 0.10,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- environment -----------------------------------------------------------------------------


def child_env(product_root: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "DATABASE_URL", "LITELLM_MASTER_KEY"):
        env.pop(name, None)
    paths = [str(product_root)] + ([str(ROOT)] if ROOT != product_root else [])
    env.update({
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "AWS_ACCESS_KEY_ID": "AKIDBENCHMARKONLY000",
        "AWS_SECRET_ACCESS_KEY": "bench-secret-not-real",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": os.pathsep.join(paths + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def git_describe(path: Path) -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip()
        subject = subprocess.run(["git", "-C", str(path), "log", "-1", "--format=%s"], capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--", "llmrouter", "openclaw_litellm"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return {"commit": commit or None, "subject": subject or None, "product_code_modified": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "product_code_modified": None}


def ensure_litellm_proxy(spec: str, logs: Path) -> tuple[Path, str]:
    """The LiteLLM proxy's own virtualenv (created once, then reused) and its LiteLLM version."""
    python = PROXY_VENV / "bin" / "python"
    marker = PROXY_VENV / ".bench-installed"
    if not (marker.exists() and marker.read_text().strip() == spec and (PROXY_VENV / "bin" / "litellm").exists()):
        log(f"installing {spec!r} into {PROXY_VENV.relative_to(ROOT)} (first run only; ~1 min)")
        t0 = time.perf_counter()
        with open(logs / "litellm-proxy-install.log", "wb") as fh:
            subprocess.run([sys.executable, "-m", "venv", str(PROXY_VENV)], check=True, stdout=fh, stderr=subprocess.STDOUT)
            subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", spec],
                           check=True, stdout=fh, stderr=subprocess.STDOUT)
        marker.write_text(spec + "\n")
        log(f"installed in {time.perf_counter() - t0:.0f} s")
    version = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return PROXY_VENV / "bin" / "litellm", version


def pkg_version(name: str) -> str | None:
    try:
        import importlib.metadata as md

        return md.version(name)
    except Exception:
        return None


# --- configs ---------------------------------------------------------------------------------


def gateway_yaml(port: int, openai_port: int, bedrock_port: int | None, workers: int = 1) -> str:
    text = f"""serve:
  host: 127.0.0.1
  port: {port}
  timeout: 60
  workers: {workers}
llms:
  bench:
    provider: openai
    model: bench-model
    base_url: http://127.0.0.1:{openai_port}/v1
    api_key: sk-bench-upstream
"""
    if bedrock_port is not None:
        text += f"""  bedrock-bench:
    provider: bedrock
    model: amazon.nova-lite-v1:0
    aws_region: us-east-1
    base_url: http://127.0.0.1:{bedrock_port}
"""
    return text


def litellm_yaml(openai_port: int, bedrock_port: int) -> str:
    return f"""model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench-model
      api_base: http://127.0.0.1:{openai_port}/v1
      api_key: sk-bench-upstream
  - model_name: bedrock-bench
    litellm_params:
      model: bedrock/converse/amazon.nova-lite-v1:0
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: http://127.0.0.1:{bedrock_port}
litellm_settings:
  telemetry: false
  drop_params: true
  num_retries: 0
  request_timeout: 60
general_settings:
  master_key: {LITELLM_MASTER_KEY}
"""


# --- measuring -------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.plan = PLANS["quick" if args.quick else "full"]
        self.product_root = Path(args.product_root).resolve() if args.product_root else ROOT
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.results_dir = BENCH / "results"
        self.out = self.results_dir / f"{stamp}.json"
        self.logs = self.results_dir / f"{stamp}-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = child_env(self.product_root)
        self.py = sys.executable
        self.r: dict[str, Any] = {"scenarios": {}, "bedrock": {}, "startup": {}, "memory": {}}

    # -- helpers --

    def loadgen(self, url: str, model: str, *, stream: bool, concurrency: int, count: int, headers: list[str] = (),
                converse: bool = False, warmup: int | None = None, max_seconds: float | None = None) -> dict[str, Any]:
        max_s = max_seconds or self.plan["max_seconds"]
        argv = [self.py, "-m", "bench.loadgen", "--url", url, "--model", model, "--concurrency", str(concurrency),
                "--count", str(count), "--max-seconds", str(max_s)]
        if stream:
            argv.append("--stream")
        if converse:
            argv.append("--converse")
        if warmup is not None:
            argv += ["--warmup", str(warmup)]
        for h in headers:
            argv += ["--header", h]
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env, cwd=ROOT, timeout=max_s * 2 + 120)
        if done.returncode != 0:
            raise RuntimeError(f"loadgen failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def measured(self, pid: int | None, **kw: Any) -> dict[str, Any]:
        """A loadgen run with the gateway's RSS and CPU before and after."""
        rss_before = rss_mb(pid) if pid else None
        cpu_before = cpu_seconds(pid) if pid else 0.0
        load_before = os.getloadavg()[0]
        result = self.loadgen(**kw)
        if pid:
            result["rss_before_mb"] = rss_before
            result["rss_after_mb"] = rss_mb(pid)
            cpu = cpu_seconds(pid) - cpu_before
            total = result["ok"] + result["errors"] + (kw.get("warmup") if kw.get("warmup") is not None else max(10, kw["concurrency"]))
            result["cpu_ms_per_request"] = round(cpu * 1000 / total, 3) if total else None
        result["loadavg_1m_before"] = round(load_before, 2)
        return result

    def start_stub(self, module: str, name: str, delay_ms: float, chunks: int, interval_ms: float) -> tuple[Proc, int]:
        proc = Proc(name, [self.py, "-m", module, "--port", "0", "--delay-ms", str(delay_ms), "--chunks", str(chunks),
                           "--interval-ms", str(interval_ms)], self.logs / f"{name}.log", env=self.env, cwd=ROOT)
        port = int(proc.wait_line("READY", 30).split()[2])
        return proc, port

    def start_gateway(self, name: str, config_text: str, port: int) -> Proc:
        cfg = self.logs / f"{name}.yaml"
        cfg.write_text(config_text)
        return Proc(name, [self.py, "-m", "llmrouter", "serve", "--config", str(cfg), "--port", str(port), "--log-level", "warning"],
                    self.logs / f"{name}.log", env=self.env, cwd=self.product_root)

    # -- phases --

    def time_help(self) -> None:
        runs = []
        for _ in range(self.plan["help_runs"]):
            t0 = time.perf_counter()
            subprocess.run([self.py, "-m", "llmrouter", "--help"], env=self.env, cwd=self.product_root, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            runs.append(time.perf_counter() - t0)
        self.r["startup"]["help_s"] = {"median": round(statistics.median(runs), 3), "min": round(min(runs), 3), "max": round(max(runs), 3),
                                       "command": "python -m llmrouter --help"}
        log(f"llmrouter --help: median {statistics.median(runs) * 1000:.0f} ms")

    def phase_llmrouter(self, up: int, bp: int, bedrock_endpoint: str) -> None:
        port = free_port()
        gw = self.start_gateway("llmrouter", gateway_yaml(port, up, bp, self.args.workers), port)
        health = wait_http(port, "/health", timeout=60, proc=gw, interval=0.005)
        if health is None:
            raise RuntimeError(f"llmrouter serve did not answer /health; log:\n{gw.tail()}")
        rss_health = rss_mb(gw.pid)
        ready = wait_http(port, "/health/ready", timeout=120, proc=gw, interval=0.02)
        time.sleep(1.0)
        rss_idle = rss_mb(gw.pid)
        self.r["startup"].update({"health_s": round(health, 3), "ready_s": round(ready, 3) if ready else None,
                                  "rss_at_health_mb": rss_health, "rss_idle_mb": rss_idle, "config": "1 OpenAI-compatible + 1 Bedrock model"})
        self.r["memory"]["idle_mb"] = rss_idle
        log(f"llmrouter serve: /health 200 after {health:.2f} s, /health/ready after {ready or float('nan'):.2f} s; RSS {rss_health} -> {rss_idle} MB")
        self.first_bedrock(port)

        gw_url = f"http://127.0.0.1:{port}/v1/chat/completions"
        direct_url = f"http://127.0.0.1:{up}/v1/chat/completions"
        for mode in MODES:
            for c in CONCURRENCY:
                key = f"{mode}-c{c}"
                n = self.plan["counts"][c]
                slot = self.r["scenarios"].setdefault(key, {})
                slot["direct"] = self.measured(None, url=direct_url, model="bench-model", stream=mode == "stream", concurrency=c, count=n)
                slot["llmrouter"] = self.measured(gw.pid, url=gw_url, model="bench", stream=mode == "stream", concurrency=c, count=n)
                d, g = slot["direct"], slot["llmrouter"]
                log(f"{key:10s} direct p50 {d['latency_ms']['p50']:.1f} ms {d['rps']} req/s | llmrouter p50 {g['latency_ms']['p50']:.1f} "
                    f"p99 {g['latency_ms']['p99']:.1f} ms {g['rps']} req/s errors {g['errors']}")

        self.bedrock_llmrouter(gw, port, bedrock_endpoint)

        warm = rss_mb(gw.pid)
        soak = self.measured(gw.pid, url=gw_url, model="bench", stream=False, concurrency=SOAK_CONCURRENCY, count=self.plan["soak"],
                             max_seconds=self.plan["soak_seconds"])
        after = rss_mb(gw.pid)
        self.r["memory"].update({"warm_mb": warm, "after_soak_mb": after, "soak_requests": soak["ok"], "soak_errors": soak["errors"],
                                 "soak_rps": soak["rps"],
                                 "growth_vs_warm": round((after - warm) / warm, 4) if warm and after else None,
                                 "growth_vs_idle": round((after - rss_idle) / rss_idle, 4) if rss_idle and after else None})
        log(f"soak: {soak['ok']} requests at c={SOAK_CONCURRENCY} ({soak['rps']} req/s): RSS {rss_idle} (idle) -> {warm} (warm) -> {after} MB")

        if self.args.profile:
            self.profile(gw, gw_url, port)
        gw.stop()

        # idle RSS and start time without Bedrock models (LiteLLM never imported)
        port2 = free_port()
        gw2 = self.start_gateway("llmrouter-openai-only", gateway_yaml(port2, up, None), port2)
        h2 = wait_http(port2, "/health", timeout=60, proc=gw2)
        time.sleep(1.0)
        self.r["startup"]["openai_only"] = {"health_s": round(h2, 3) if h2 else None, "rss_idle_mb": rss_mb(gw2.pid)}
        gw2.stop()

    def first_bedrock(self, port: int) -> None:
        """The first Bedrock requests after /health/ready (nothing before them), against the next ones."""
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        first: dict[str, Any] = {}
        for mode in MODES:
            one = self.loadgen(url, "bedrock-bench", stream=mode == "stream", concurrency=1, count=1, warmup=0)
            nxt = self.loadgen(url, "bedrock-bench", stream=mode == "stream", concurrency=1, count=5, warmup=0)
            first[mode] = {"first_ms": one["latency_ms"]["p50"], "next_p50_ms": nxt["latency_ms"]["p50"],
                           "added_ms": _sub(one["latency_ms"]["p50"], nxt["latency_ms"]["p50"]), "errors": one["errors"] + nxt["errors"]}
        self.r["bedrock"]["first_after_ready"] = first
        log("first Bedrock request after ready: " + ", ".join(f"{m} {v['first_ms']} ms (next {v['next_p50_ms']} ms)" for m, v in first.items()))

    def bedrock_llmrouter(self, gw: Proc, port: int, endpoint: str) -> None:
        b = self.r["bedrock"]
        raw = subprocess.run([self.py, "-m", "bench.raw_converse", "--endpoint", endpoint, "--count", str(self.plan["bedrock_json"]),
                              "--stream-count", str(self.plan["raw_stream"])], capture_output=True, text=True, env=self.env, cwd=ROOT, timeout=600)
        if raw.returncode != 0:
            raise RuntimeError(f"raw Converse baseline failed: {raw.stderr[-2000:]}")
        b["raw_boto3"] = json.loads(raw.stdout.strip().splitlines()[-1])
        b["stub_floor"] = self.measured(None, url=f"{endpoint}/model/amazon.nova-lite-v1%3A0/converse", model="-", stream=False,
                                        concurrency=1, count=self.plan["bedrock_json"], converse=True)
        gw_url = f"http://127.0.0.1:{port}/v1/chat/completions"
        b["llmrouter_json"] = self.measured(gw.pid, url=gw_url, model="bedrock-bench", stream=False, concurrency=1, count=self.plan["bedrock_json"])
        b["llmrouter_stream"] = self.measured(gw.pid, url=gw_url, model="bedrock-bench", stream=True, concurrency=1,
                                              count=self.plan["bedrock_stream"], warmup=2)
        b["llmrouter_streams50"] = self.streams50(gw.pid, gw_url, [])
        log(f"bedrock: raw boto3 Converse p50 {b['raw_boto3']['converse_ms']['p50']:.1f} ms, via llmrouter p50 "
            f"{b['llmrouter_json']['latency_ms']['p50']:.1f} ms; 50 streams {b['llmrouter_streams50']['ratio']}x one")

    def streams50(self, pid: int, url: str, headers: list[str]) -> dict[str, Any]:
        one = self.measured(pid, url=url, model="bedrock-bench", stream=True, concurrency=1, count=5, warmup=2, headers=headers)
        many = self.measured(pid, url=url, model="bedrock-bench", stream=True, concurrency=50, count=50, warmup=50, headers=headers)
        single = one["latency_ms"]["p50"]
        ratio = round(many["wall_s"] * 1000 / single, 3) if single and many["ok"] == 50 else None
        return {"one_stream_ms": single, "fifty_wall_ms": round(many["wall_s"] * 1000, 1), "ratio": ratio,
                "fifty_ok": many["ok"], "fifty_errors": many["errors"], "fifty_latency_ms": many["latency_ms"],
                "fifty_ttft_ms": many["ttft_ms"], "rss_after_mb": many.get("rss_after_mb")}

    def profile(self, gw: Proc, gw_url: str, port: int) -> None:
        spy = shutil.which("py-spy") or str(Path(self.py).parent / "py-spy")
        if not Path(spy).exists():
            log("--profile: py-spy not found (pip install py-spy); skipping")
            return
        from bench.profile_summary import summarize

        out = {}
        runs = [("json-c100", "bench", False, 100, 3000), ("stream-c100", "bench", True, 100, 1500),
                ("json-c20", "bench", False, 20, 2000), ("bedrock-json-c1", "bedrock-bench", False, 1, 150)]
        for name, model, stream, c, n in runs:
            raw = self.logs / f"profile-{name}.txt"
            spy_proc = subprocess.Popen([spy, "record", "-p", str(gw.pid), "-f", "raw", "-o", str(raw), "-r", "250", "--nonblocking"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(1.0)
            try:
                self.loadgen(url=gw_url, model=model, stream=stream, concurrency=c, count=n, max_seconds=15)
            finally:
                os.killpg(spy_proc.pid, signal.SIGINT)
                try:
                    spy_proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(spy_proc.pid, signal.SIGKILL)
            if raw.exists():
                text = summarize(str(raw), top=20)
                (self.logs / f"profile-{name}.summary.txt").write_text(text + "\n")
                out[name] = str(raw.relative_to(ROOT))
                log(f"profile {name}: {raw.relative_to(ROOT)}")
        self.r["profiles"] = out

    def phase_litellm(self, up: int, bp: int, bedrock_endpoint: str) -> None:
        try:
            litellm_bin, version = ensure_litellm_proxy(self.args.litellm_spec, self.logs)
        except (subprocess.CalledProcessError, OSError) as exc:
            log(f"LiteLLM proxy install failed ({exc}); see {self.logs / 'litellm-proxy-install.log'}; skipping its runs")
            self.r["litellm_proxy"] = {"error": str(exc)}
            return
        port = free_port()
        cfg = self.logs / "litellm-proxy.yaml"
        cfg.write_text(litellm_yaml(up, bp))
        proxy = Proc("litellm-proxy", [str(litellm_bin), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
                     self.logs / "litellm-proxy.log", env=self.env, cwd=self.logs)
        started = wait_http(port, "/health/liveliness", timeout=240, proc=proxy, interval=0.05)
        if started is None:
            log(f"LiteLLM proxy did not start; log tail:\n{proxy.tail()}")
            self.r["litellm_proxy"] = {"version": version, "error": "did not start"}
            proxy.stop()
            return
        time.sleep(1.0)
        self.r["litellm_proxy"] = {"version": version, "spec": self.args.litellm_spec, "start_s": round(started, 2),
                                   "rss_idle_mb": rss_mb(proxy.pid)}
        log(f"LiteLLM proxy {version}: /health/liveliness 200 after {started:.1f} s, RSS {self.r['litellm_proxy']['rss_idle_mb']} MB")
        auth = [f"authorization: Bearer {LITELLM_MASTER_KEY}"]
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        direct_url = f"http://127.0.0.1:{up}/v1/chat/completions"
        for mode in MODES:
            for c in CONCURRENCY:
                key = f"{mode}-c{c}"
                n = self.plan["litellm_counts"][c]
                slot = self.r["scenarios"].setdefault(key, {})
                slot["direct_litellm_phase"] = self.measured(None, url=direct_url, model="bench-model", stream=mode == "stream", concurrency=c, count=n)
                slot["litellm"] = self.measured(proxy.pid, url=url, model="bench", stream=mode == "stream", concurrency=c, count=n, headers=auth)
                lp = slot["litellm"]
                log(f"{key:10s} LiteLLM proxy p50 {lp['latency_ms']['p50']:.1f} p99 {lp['latency_ms']['p99']:.1f} ms {lp['rps']} req/s errors {lp['errors']}")
        b = self.r["bedrock"]
        b["litellm_json"] = self.measured(proxy.pid, url=url, model="bedrock-bench", stream=False, concurrency=1,
                                          count=self.plan["litellm_counts"][1], headers=auth)
        b["litellm_streams50"] = self.streams50(proxy.pid, url, auth)
        self.r["litellm_proxy"]["rss_after_mb"] = rss_mb(proxy.pid)
        proxy.stop()

    # -- the whole run --

    def run(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        from bench.upstreams.eventstream import _selfcheck

        _selfcheck()
        self.r["meta"] = {
            "mode": "quick" if self.args.quick else "full",
            "started": dt.datetime.now().isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_at_start": os.getloadavg()},
            "product_root": str(self.product_root),
            "git": git_describe(self.product_root),
            "versions": {n: pkg_version(n) for n in ("litellm", "httpx", "httpcore", "fastapi", "starlette", "uvicorn", "uvloop", "boto3")},
            "upstream": {"openai": {"delay_ms": self.args.delay_ms, "chunks": self.args.chunks, "interval_ms": self.args.interval_ms},
                         "bedrock": {"delay_ms": self.args.delay_ms, "chunks": self.args.bedrock_chunks, "interval_ms": self.args.bedrock_interval_ms}},
            "plan": {k: v for k, v in self.plan.items()},
            "gateway_workers": self.args.workers,
        }
        self.time_help()
        op, up = self.start_stub("bench.upstreams.openai_stub", "openai-stub", self.args.delay_ms, self.args.chunks, self.args.interval_ms)
        bp_proc, bp = self.start_stub("bench.upstreams.bedrock_stub", "bedrock-stub", self.args.delay_ms, self.args.bedrock_chunks,
                                      self.args.bedrock_interval_ms)
        endpoint = f"http://127.0.0.1:{bp}"
        try:
            self.phase_llmrouter(up, bp, endpoint)
            if not self.args.skip_litellm:
                self.phase_litellm(up, bp, endpoint)
        finally:
            op.stop()
            bp_proc.stop()
        self.r["meta"]["duration_s"] = round(time.perf_counter() - t0, 1)
        derive(self.r)
        self.out.write_text(json.dumps(self.r, indent=2) + "\n")
        return self.r


# --- derived numbers, targets, the table -------------------------------------------------------


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


def derive(r: dict[str, Any]) -> None:
    for sc in r["scenarios"].values():
        for gw, base in (("llmrouter", "direct"), ("litellm", "direct_litellm_phase")):
            if gw in sc and base in sc:
                g, d = sc[gw], sc[base]
                g["added_ms"] = {"p50": _sub(g["latency_ms"]["p50"], d["latency_ms"]["p50"]),
                                 "p99": _sub(g["latency_ms"]["p99"], d["latency_ms"]["p99"]),
                                 "mean": _sub(g["latency_ms"]["mean"], d["latency_ms"]["mean"])}
                g["ttft_added_ms"] = {"p50": _sub(g["ttft_ms"]["p50"], d["ttft_ms"]["p50"]),
                                      "p99": _sub(g["ttft_ms"]["p99"], d["ttft_ms"]["p99"])}
        if "llmrouter" in sc and "litellm" in sc:
            ours, theirs = sc["llmrouter"], sc["litellm"]
            sc["vs_litellm"] = {"rps_ratio": _div(ours["rps"], theirs["rps"]),
                                "added_p50_ratio": _div(theirs["added_ms"]["p50"], max(ours["added_ms"]["p50"] or 0, 0.001)),
                                "rss_ratio": _div(theirs.get("rss_after_mb"), ours.get("rss_after_mb"))}
    b = r["bedrock"]
    if "raw_boto3" in b and "llmrouter_json" in b:
        raw = b["raw_boto3"]["converse_ms"]["p50"]
        b["llmrouter_added_over_raw_ms"] = {"p50": _sub(b["llmrouter_json"]["latency_ms"]["p50"], raw),
                                            "p99": _sub(b["llmrouter_json"]["latency_ms"]["p99"], b["raw_boto3"]["converse_ms"]["p99"])}
        b["llmrouter_added_over_stub_floor_ms"] = {"p50": _sub(b["llmrouter_json"]["latency_ms"]["p50"], b["stub_floor"]["latency_ms"]["p50"])}
        b["llmrouter_stream_ttft_added_over_raw_ms"] = {"p50": _sub(b["llmrouter_stream"]["ttft_ms"]["p50"], b["raw_boto3"]["stream_ttft_ms"]["p50"])}
        if "litellm_json" in b:
            b["litellm_added_over_raw_ms"] = {"p50": _sub(b["litellm_json"]["latency_ms"]["p50"], raw),
                                              "p99": _sub(b["litellm_json"]["latency_ms"]["p99"], b["raw_boto3"]["converse_ms"]["p99"])}
    r["targets"] = targets(r)


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, value: Any, op: str, target: float, unit: str = "") -> None:
        ok = None if value is None else (value <= target if op == "<=" else value >= target)
        out.append({"target": name, "value": value, "goal": f"{op} {target:g}{unit}", "pass": ok})

    sc = r["scenarios"]
    for key in ("json-c1", "json-c20"):
        add(f"direct path added p50, {key} (ms)", sc.get(key, {}).get("llmrouter", {}).get("added_ms", {}).get("p50"), "<=", TARGETS["added_p50_ms"])
    c20 = sc.get("json-c20", {}).get("llmrouter", {})
    add("direct path added p99, json-c20 (ms)", c20.get("added_ms", {}).get("p99"), "<=", TARGETS["added_p99_ms_c20"])
    for key in ("json-c20", "stream-c20"):
        add(f"req/s vs LiteLLM proxy, {key} (x)", sc.get(key, {}).get("vs_litellm", {}).get("rps_ratio"), ">=", TARGETS["rps_vs_litellm_c20"])
    b = r["bedrock"]
    add("Bedrock added p50 over raw boto3 Converse, JSON (ms)", b.get("llmrouter_added_over_raw_ms", {}).get("p50"), "<=", TARGETS["bedrock_added_p50_ms"])
    add("Bedrock added stream TTFT p50 over raw boto3 (ms)", b.get("llmrouter_stream_ttft_added_over_raw_ms", {}).get("p50"), "<=", TARGETS["bedrock_added_p50_ms"])
    add("50 concurrent Bedrock streams / one stream (x)", b.get("llmrouter_streams50", {}).get("ratio"), "<=", TARGETS["streams50_ratio"])
    first = b.get("first_after_ready", {})
    for mode in MODES:
        add(f"first Bedrock request after ready, {mode}, added (ms)", first.get(mode, {}).get("added_ms"), "<=", TARGETS["first_bedrock_added_ms"])
    st = r["startup"]
    add("llmrouter --help (s)", st.get("help_s", {}).get("median"), "<=", TARGETS["help_s"])
    add("spawn to /health 200, Bedrock in config (s)", st.get("health_s"), "<=", TARGETS["health_s"])
    add("idle RSS, Bedrock in config, LiteLLM warmed (MB)", r["memory"].get("idle_mb"), "<=", TARGETS["idle_rss_mb"])
    add("idle RSS, OpenAI-compatible models only (MB)", st.get("openai_only", {}).get("rss_idle_mb"), "<=", TARGETS["idle_rss_mb"])
    add(f"RSS growth over {r['memory'].get('soak_requests')} requests after warm-up", r["memory"].get("growth_vs_warm"), "<=", TARGETS["rss_growth"])
    return out


def _f(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def markdown(r: dict[str, Any]) -> str:
    m = r["meta"]
    lines = [
        f"### Gateway benchmark ({m['mode']}, {m['started']}, {m['machine']['cpus']} CPUs, Python {m['python']}, "
        f"LiteLLM proxy {r.get('litellm_proxy', {}).get('version', '-')})",
        "",
        f"Upstream stub: {m['upstream']['openai']['delay_ms']:g} ms to answer / first chunk, "
        f"{m['upstream']['openai']['chunks']} stream chunks {m['upstream']['openai']['interval_ms']:g} ms apart. "
        "Added = gateway minus direct-to-upstream, same run (ms). TTFT = first body byte.",
        "",
        "| scenario | direct p50 | llmrouter +p50 / +p99 | LiteLLM +p50 / +p99 | TTFT +p50 ours / LiteLLM | req/s direct / ours / LiteLLM | ours ÷ LiteLLM req/s | CPU ms/req ours / LiteLLM | ours RSS before→after MB | errors ours / LiteLLM |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, sc in r["scenarios"].items():
        d, g, lp = sc.get("direct", {}), sc.get("llmrouter", {}), sc.get("litellm", {})
        lines.append(
            f"| {key} | {_f(d.get('latency_ms', {}).get('p50'))} "
            f"| {_f(g.get('added_ms', {}).get('p50'), 2)} / {_f(g.get('added_ms', {}).get('p99'), 2)} "
            f"| {_f(lp.get('added_ms', {}).get('p50'))} / {_f(lp.get('added_ms', {}).get('p99'))} "
            f"| {_f(g.get('ttft_added_ms', {}).get('p50'), 2) if 'stream' in key else '-'} / {_f(lp.get('ttft_added_ms', {}).get('p50')) if 'stream' in key else '-'} "
            f"| {_f(d.get('rps'), 0)} / {_f(g.get('rps'), 0)} / {_f(lp.get('rps'), 0)} "
            f"| {_f(sc.get('vs_litellm', {}).get('rps_ratio'), 2)} "
            f"| {_f(g.get('cpu_ms_per_request'), 2)} / {_f(lp.get('cpu_ms_per_request'), 1)} "
            f"| {_f(g.get('rss_before_mb'), 0)}→{_f(g.get('rss_after_mb'), 0)} "
            f"| {g.get('errors', '-')} / {lp.get('errors', '-')} |"
        )
    b = r["bedrock"]
    if b:
        raw = b.get("raw_boto3", {})
        lines += [
            "",
            "| Bedrock (c=1 unless noted) | p50 ms | p99 ms |",
            "|---|---|---|",
            f"| raw boto3 Converse → stub | {_f(raw.get('converse_ms', {}).get('p50'))} | {_f(raw.get('converse_ms', {}).get('p99'))} |",
            f"| unsigned HTTP → stub (floor) | {_f(b.get('stub_floor', {}).get('latency_ms', {}).get('p50'))} | {_f(b.get('stub_floor', {}).get('latency_ms', {}).get('p99'))} |",
            f"| llmrouter → Bedrock stub | {_f(b.get('llmrouter_json', {}).get('latency_ms', {}).get('p50'))} | {_f(b.get('llmrouter_json', {}).get('latency_ms', {}).get('p99'))} |",
            f"| LiteLLM proxy → Bedrock stub | {_f(b.get('litellm_json', {}).get('latency_ms', {}).get('p50'))} | {_f(b.get('litellm_json', {}).get('latency_ms', {}).get('p99'))} |",
            f"| llmrouter added over raw boto3 | {_f(b.get('llmrouter_added_over_raw_ms', {}).get('p50'))} | {_f(b.get('llmrouter_added_over_raw_ms', {}).get('p99'))} |",
            f"| LiteLLM proxy added over raw boto3 | {_f(b.get('litellm_added_over_raw_ms', {}).get('p50'))} | {_f(b.get('litellm_added_over_raw_ms', {}).get('p99'))} |",
            f"| stream TTFT: raw boto3 / llmrouter | {_f(raw.get('stream_ttft_ms', {}).get('p50'))} / {_f(b.get('llmrouter_stream', {}).get('ttft_ms', {}).get('p50'))} | |",
        ]
        for mode, v in b.get("first_after_ready", {}).items():
            lines.append(f"| first {mode} request after /health/ready: first / next p50 | {_f(v['first_ms'])} / {_f(v['next_p50_ms'])} | |")
        for who in ("llmrouter", "litellm"):
            s = b.get(f"{who}_streams50")
            if s:
                lines.append(f"| 50 concurrent streams, {who}: one {_f(s['one_stream_ms'], 0)} ms, fifty {_f(s['fifty_wall_ms'], 0)} ms | ratio {_f(s['ratio'], 2)}x | |")
    st, mem, lp = r["startup"], r["memory"], r.get("litellm_proxy", {})
    lines += [
        "",
        "| startup and memory | llmrouter | LiteLLM proxy |",
        "|---|---|---|",
        f"| `--help` wall time (median) | {_f(st.get('help_s', {}).get('median'), 3)} s | |",
        f"| spawn → /health 200 (Bedrock in config) | {_f(st.get('health_s'), 2)} s | {_f(lp.get('start_s'), 1)} s (/health/liveliness) |",
        f"| spawn → LiteLLM warmed (/health/ready) | {_f(st.get('ready_s'), 2)} s | |",
        f"| RSS at /health 200 | {_f(st.get('rss_at_health_mb'), 0)} MB | |",
        f"| idle RSS (Bedrock in config, LiteLLM loaded) | {_f(mem.get('idle_mb'), 0)} MB | {_f(lp.get('rss_idle_mb'), 0)} MB |",
        f"| idle RSS, OpenAI-compatible models only | {_f(st.get('openai_only', {}).get('rss_idle_mb'), 0)} MB | |",
        f"| RSS warm → after {mem.get('soak_requests')} more requests | {_f(mem.get('warm_mb'), 0)} → {_f(mem.get('after_soak_mb'), 0)} MB ({_f((mem.get('growth_vs_warm') or 0) * 100, 1)}%) | after run: {_f(lp.get('rss_after_mb'), 0)} MB |",
        "",
        "| target (issue 14) | value | goal | met |",
        "|---|---|---|---|",
    ]
    for t in r.get("targets", []):
        lines.append(f"| {t['target']} | {_f(t['value'], 2)} | {t['goal']} | {'yes' if t['pass'] else ('-' if t['pass'] is None else '**no**')} |")
    lines += ["", f"Results: {r.get('_out', '')}  (run took {m.get('duration_s')} s)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (~2-3 minutes)")
    parser.add_argument("--skip-litellm", action="store_true", help="do not install or run LiteLLM's proxy")
    parser.add_argument("--litellm-spec", default="litellm[proxy]", help="pip requirement for the proxy's venv (default: %(default)s)")
    parser.add_argument("--profile", action="store_true", help="also record py-spy profiles of the gateway under load (logs dir)")
    parser.add_argument("--product-root", help="benchmark the llmrouter/openclaw_litellm code in this directory (default: this checkout)")
    parser.add_argument("--delay-ms", type=float, default=50.0, help="upstream latency before the answer / first chunk")
    parser.add_argument("--chunks", type=int, default=20, help="OpenAI stub: content chunks per stream")
    parser.add_argument("--interval-ms", type=float, default=2.0, help="OpenAI stub: ms between stream chunks")
    parser.add_argument("--bedrock-chunks", type=int, default=50)
    parser.add_argument("--bedrock-interval-ms", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="the gateway's serve.workers (RSS and CPU then cover every worker)")
    parser.add_argument("--report", help="print the table of an existing results JSON and exit")
    args = parser.parse_args(argv)

    if args.report:
        r = json.loads(Path(args.report).read_text())
        r["_out"] = args.report
        print(markdown(r))
        return 0

    def on_signal(signum: int, frame: Any) -> None:
        stop_all()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    bench = Bench(args)
    try:
        r = bench.run()
    finally:
        stop_all()
    r["_out"] = str(bench.out.relative_to(ROOT))
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
