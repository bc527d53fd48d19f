"""The end-to-end check's prompt-caching part: multi-turn OpenClaw sessions on Bedrock.

``openclaw agent --local --session-id <id> --message ... --json`` runs one turn of a kept
session; two turns are run per variant through the gateway to the rule-enforcing Bedrock
upstream (:mod:`e2e.upstreams`), which refuses cache points Bedrock would refuse (more than 4,
TTL order, a model without caching) and reports cache reads for a prefix it has seen:

==========  ===========================================================================
variant     what the gateway gets
==========  ===========================================================================
gw          OpenClaw's default for a custom provider: no caching hint. The gateway places
            its automatic cache points (tools, system, newest user / tool message).
gwcache     the same provider with ``compat.cacheControlFormat: "anthropic"`` on the
            model: OpenClaw's own markers (last tool, stable system part, newest user /
            tool message), which the gateway sends as they are.
==========  ===========================================================================

A session passes when every turn exits 0 with the tool round trip closed, the upstream
rejected nothing and saw at most 4 cache points per request, and from the second turn on
OpenClaw's own JSON usage (``meta.agentMeta.usage``) shows ``cacheRead`` > 0.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

__all__ = ["CACHE_VARIANTS", "SESSION_TURNS", "cache_provider", "run_cache_sessions"]

SESSION_TURNS = 2
CACHE_VARIANTS = ("gw", "gwcache")
MODEL = "bedrock-tools"
TURN_TIMEOUT = 240


def cache_provider(base_url: str, api_key: str, models: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``gwcache`` provider: ``gw`` with OpenClaw's Anthropic-style cache markers turned on."""
    return {"baseUrl": base_url, "apiKey": api_key, "api": "openai-completions",
            "models": [dict(m, compat={"cacheControlFormat": "anthropic"}) for m in models]}


def _cache_points(body: dict[str, Any]) -> int:
    blocks = [*((body.get("toolConfig") or {}).get("tools") or []), *(body.get("system") or [])]
    for message in body.get("messages") or []:
        blocks.extend(message.get("content") or [])
    return sum(1 for b in blocks if isinstance(b, dict) and "cachePoint" in b)


def _one_turn(variant: str, session: str, turn: int, openclaw: Path, env: dict[str, str], workspace: Path,
              upstream: Any) -> dict[str, Any]:
    token = f"cache-{variant}-{turn}-{secrets.token_hex(3)}"
    message = f"Use the exec tool to run `echo {token}`, then reply with exactly what it printed. token={token}"
    cmd = [str(openclaw), "agent", "--local", "--session-id", session, "--message", message,
           "--model", f"{variant}/{MODEL}", "--json", "--timeout", "180"]
    seen_before = len(upstream.requests)
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, env=env, cwd=workspace, capture_output=True, text=True, timeout=TURN_TIMEOUT)
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout, stderr = None, str(exc.stdout or ""), str(exc.stderr or "")
    try:
        result = json.loads(stdout[stdout.index("{"):]) if "{" in stdout else {}
    except ValueError:
        result = {}
    usage = ((result.get("meta") or {}).get("agentMeta") or {}).get("usage") or {}
    final = " ".join(str(p.get("text") or "") for p in result.get("payloads") or [])
    seen = upstream.requests[seen_before:]
    checks = {
        "exit_0": code == 0,
        "final_quotes_tool_output": f"The tool printed: {token}" in final,
        "upstream_rejected_nothing": bool(seen) and not any(r.rejected for r in seen),
        "at_most_4_cache_points": all(_cache_points(r.body) <= 4 for r in seen),
        "cache_points_sent": all(_cache_points(r.body) > 0 for r in seen),
    }
    if turn > 0:
        checks["cache_read_from_turn_2"] = int(usage.get("cacheRead") or 0) > 0
    return {
        "turn": f"cache-session/{variant}/{turn + 1}",
        "mode": "cache-session",
        "model": f"{variant}/{MODEL}",
        "passed": all(checks.values()),
        "checks": checks,
        "exit_code": code,
        "seconds": round(time.monotonic() - started, 1),
        "openclaw": {"usage": usage, "final": final},
        "upstream": {"requests": len(seen), "cache_points": [_cache_points(r.body) for r in seen],
                     "rejected": [r.rejected for r in seen if r.rejected]},
        **({} if all(checks.values()) else {"stderr_tail": stderr[-1500:], "stdout_head": stdout[:1500]}),
    }


def run_cache_sessions(openclaw: Path, node_bin: Path, home: Path, workspace: Path, upstream: Any,
                       log: Any) -> list[dict[str, Any]]:
    """Every variant's session, turn by turn (results in the shape of the other turns)."""
    env = dict(os.environ, OPENCLAW_HOME=str(home), PATH=f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
               NO_COLOR="1", FORCE_COLOR="0")
    results = []
    for variant in CACHE_VARIANTS:
        session = f"e2e-cache-{variant}-{secrets.token_hex(4)}"
        for turn in range(SESSION_TURNS):
            log(f"cache session {variant} turn {turn + 1}: openclaw agent --local --session-id {session} ...")
            results.append(_one_turn(variant, session, turn, openclaw, env, workspace, upstream))
            log(f"cache session {variant} turn {turn + 1}: {'PASS' if results[-1]['passed'] else 'FAIL'} "
                f"in {results[-1]['seconds']} s, usage {results[-1]['openclaw']['usage']}")
    return results
