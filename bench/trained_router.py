"""The trained router's costs: training time, load time, and decision time per request.

    python -m bench.trained_router [--kind knn|linear|both] [--requests 2000] [--json]

Trains on all 5,608 rows of examples/routing/scores-train.jsonl (5-fold cross-validation
included, as `llmrouter train` does), saves and loads the router directory, then times
``await Router.select(request)`` with ``router.strategy: trained`` (what a ``model: "auto"``
request pays before any I/O: last user message -> TF-IDF -> prediction -> pick) on real
queries, one at a time on one event loop. Target: p50 <= 1 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "routing"


def _train(kind: str, out: Path) -> float:
    from llmrouter.cli import main

    started = time.perf_counter()
    argv = ["train", "--scores", str(DATA / "scores-train.jsonl"), "--llms", str(DATA / "llms.json"), "--out", str(out), "--router", kind]
    if main(argv) != 0:
        sys.exit(f"training the {kind} router failed")
    return time.perf_counter() - started


async def _decisions(router_dir: Path, queries: list[str]) -> list[float]:
    from llmrouter.config import OpenClawConfig
    from llmrouter.routing import Router
    from openclaw_litellm.schemas import ChatRequest

    models = json.loads((DATA / "llms.json").read_text())
    config = OpenClawConfig.from_dict({
        "router": {"strategy": "trained", "path": str(router_dir)},
        "llms": {name: {"provider": "nvidia", "model": entry["model"]} for name, entry in models.items()},
    })
    router = Router(config)
    requests = [ChatRequest.model_validate({"model": "auto", "messages": [{"role": "user", "content": q}]}) for q in queries]
    for request in requests[:50]:  # warm-up
        await router.select(request)
    timings = []
    for request in requests:
        started = time.perf_counter_ns()
        await router.select(request)
        timings.append((time.perf_counter_ns() - started) / 1000)
    return timings


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _jsonl(path: Path):  # noqa: ANN202 - (line number, object) pairs
    from llmrouter.jsonl import lines_of, objects, read_text

    return objects(path, lines_of(read_text(path)))


def run(kind: str, n: int) -> dict[str, float | str]:
    from llmrouter.training.router_dir import load_router

    rows = [row for _, row in _jsonl(DATA / "scores-train.jsonl")]
    sample = [row["query"] for _, row in _jsonl(DATA / "queries-sample.jsonl")]
    queries = (sample + [r["query"] for r in rows[::3]])[:n]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / kind
        train_s = _train(kind, out)
        started = time.perf_counter()
        load_router(out)
        load_ms = (time.perf_counter() - started) * 1000
        timings = asyncio.run(_decisions(out, queries))
    return {
        "kind": kind,
        "train_s": round(train_s, 2),
        "load_ms": round(load_ms, 1),
        "requests": len(timings),
        "decision_p50_us": round(statistics.median(timings), 1),
        "decision_p90_us": round(_percentile(timings, 0.90), 1),
        "decision_p99_us": round(_percentile(timings, 0.99), 1),
        "query_chars_mean": round(statistics.mean(len(q) for q in queries)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="both", choices=["knn", "linear", "both"])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [run(k, args.requests) for k in (["knn", "linear"] if args.kind == "both" else [args.kind])]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'kind':<8} {'train s':>8} {'load ms':>8} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8}  (requests, mean query chars)")
    for r in results:
        print(f"{r['kind']:<8} {r['train_s']:>8} {r['load_ms']:>8} {r['decision_p50_us']:>8} {r['decision_p90_us']:>8} {r['decision_p99_us']:>8}  ({r['requests']}, {r['query_chars_mean']})")


if __name__ == "__main__":
    main()
