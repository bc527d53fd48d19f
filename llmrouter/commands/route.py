"""``llmrouter route``: the model a trained router picks for each query of a JSONL file.

One ``{"query": ..., "model": ...}`` line per input line, in input order: what ``serve`` and
``infer --model auto`` would pick with the same router and ``cost_weight``. A line may carry
``messages`` instead of ``query``: like ``serve``, the router reads the last user message.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from llmrouter.commands import print_error
from llmrouter.jsonl import lines_of, objects, read_text

__all__ = ["add_parser", "read_queries", "run_from_cli"]


def add_parser(sub: Any) -> None:
    route = sub.add_parser(
        "route",
        help="print the model a trained router picks for each query",
        description="One JSON line {\"query\", \"model\"} per input line, in input order: the decisions "
        "`serve` would make with `strategy: trained`, to check before serving them.",
    )
    route.add_argument("--router", required=True, help="router directory (from `llmrouter train`)")
    route.add_argument("--input", required=True, help='JSONL, one {"query": ...} per line ("-": standard input)')
    route.add_argument("--cost-weight", type=float, help="0 = quality only; higher = cheaper (default: the router's)")
    route.add_argument("--output", help="JSONL output (default: standard output)")


def read_queries(path: str) -> list[str]:
    """The ``query`` of every non-blank line; ValueError names the file and line of a bad one."""
    queries = []
    for number, item in objects(path, lines_of(read_text(path))):
        query = item.get("query") if isinstance(item, dict) else None
        if query is None and isinstance(item, dict) and isinstance(item.get("messages"), list):
            query = _last_user_text(item["messages"])  # what serve routes on
        if not isinstance(query, str):
            raise ValueError(f'{path}, line {number}: missing field \'query\' (expected {{"query": "..."}} or {{"messages": [...]}})')
        queries.append(query)
    return queries


def _last_user_text(messages: list[Any]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "\n".join(str(p.get("text") or "") for p in content if isinstance(p, dict) and p.get("type") == "text")
            return content if isinstance(content, str) else ""
    return None


def run_from_cli(args: argparse.Namespace) -> int:
    from llmrouter.training.router_dir import load_router

    if args.cost_weight is not None and args.cost_weight < 0:
        print_error(f"--cost-weight must be >= 0 (0 = quality only), got {args.cost_weight:g}")
        return 2
    try:
        router = load_router(args.router)
        queries = read_queries(args.input)
        out = open(args.output, "w", encoding="utf-8") if args.output and args.output != "-" else sys.stdout  # noqa: SIM115
    except (ValueError, OSError) as exc:
        print_error(str(exc))
        return 2
    try:
        for query in queries:
            out.write(json.dumps({"query": query, "model": router.choose(query, args.cost_weight)}, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0
