"""Routing overhead per request, in microseconds, for each strategy (except ``llm``).

    python -m bench.routing_overhead [--iterations 20000] [--json]

Times ``await Router.select(request)`` (what a request to ``model: "auto"`` pays before any
I/O) on one event loop, for two requests: a short chat turn, and an OpenClaw-agent-like one
(~36 KB: a long system prompt, 20 tools with JSON schemas, 12 turns), the size that matters
for ``cost``, whose token estimate reads the whole request. ``explicit`` is a request naming
its model: the floor (a dict lookup). The ``llm`` strategy is left out: its cost is the router
model's round trip, milliseconds, not the gateway's CPU.

Also timed: ``ChatService`` end to end against an in-process backend that answers at once
(routing + retry loop + shaping), to show what the fallback machinery adds to a request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

from llmrouter.config import OpenClawConfig
from llmrouter.routing import Router
from openclaw_litellm.schemas import ChatRequest

STRATEGIES: dict[str, dict[str, Any]] = {
    "explicit": {"strategy": "first"},  # the request names a model: no strategy runs
    "first": {"strategy": "first"},
    "random": {"strategy": "random", "weights": {"small": 3, "medium": 2, "large": 1}},
    "round_robin": {"strategy": "round_robin"},
    "rules": {
        "strategy": "rules",
        "rules": [
            {"keywords": ["traceback", "stack trace", "segfault", "compile error"], "model": "large"},
            {"keywords": ["translate", "translation"], "model": "medium"},
            {"keywords": ["summarize", "tl;dr", "summary"], "model": "medium"},
        ],
        "default": "small",
    },
    "cost": {"strategy": "cost"},
}

LLMS = {
    "small": {"provider": "vllm", "model": "s", "base_url": "http://127.0.0.1:9/v1", "input_price": 0.05, "output_price": 0.1, "context_limit": 8192},
    "medium": {"provider": "vllm", "model": "m", "base_url": "http://127.0.0.1:9/v1", "input_price": 0.5, "output_price": 1.5, "context_limit": 32768},
    "large": {"provider": "vllm", "model": "l", "base_url": "http://127.0.0.1:9/v1", "input_price": 3.0, "output_price": 15.0, "context_limit": 200000},
}


def short_request(model: str) -> ChatRequest:
    return ChatRequest.model_validate({"model": model, "messages": [{"role": "user", "content": "What is the capital of France?"}]})


def agent_request(model: str) -> ChatRequest:
    tool = {
        "type": "function",
        "function": {
            "name": "tool_{i}",
            "description": "Runs a shell command in the workspace and returns its output. " * 3,
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "The command"}, "timeout": {"type": "integer"}, "cwd": {"type": "string"}},
                "required": ["command"],
            },
        },
    }
    tools = [json.loads(json.dumps(tool).replace("{i}", str(i))) for i in range(20)]
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a coding agent. Follow the rules. " * 500}]
    for turn in range(6):
        messages.append({"role": "user", "content": f"Step {turn}: please look at the failing test and fix it. " * 10})
        messages.append({"role": "assistant", "content": f"I ran the tests; here is what I found in step {turn}. " * 10})
    messages.append({"role": "user", "content": "Now translate the summary to French."})
    body = {"model": model, "messages": messages, "tools": tools, "max_tokens": 1024}
    assert 30_000 < len(json.dumps(body)) < 45_000, len(json.dumps(body))
    return ChatRequest.model_validate(body)


async def time_select(router: Router, request: ChatRequest, iterations: int) -> list[float]:
    for _ in range(min(1000, iterations)):  # warm caches and the branch predictor
        await router.select(request)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        started = clock()
        await router.select(request)
        samples.append((clock() - started) / 1000)
    return samples


async def time_service(router: Router, request: ChatRequest, iterations: int) -> list[float]:
    from openclaw_litellm.completions import ChatService

    completion = {
        "id": "x", "object": "chat.completion", "created": 1, "model": "s",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }

    class InstantBackend:
        async def complete(self, llm: Any, messages: Any, params: Any) -> dict[str, Any]:
            return dict(completion)

    service = ChatService(router, InstantBackend(), prefix=False)  # type: ignore[arg-type]
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        started = clock()
        await service.complete(request)
        samples.append((clock() - started) / 1000)
    return samples


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "mean_us": round(statistics.fmean(samples), 2),
        "p50_us": round(ordered[len(ordered) // 2], 2),
        "p99_us": round(ordered[int(len(ordered) * 0.99)], 2),
    }


async def run(iterations: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, router_config in STRATEGIES.items():
        router = Router(OpenClawConfig.from_dict({"router": router_config, "llms": LLMS}))
        model = "medium" if name == "explicit" else "auto"
        results[name] = {
            "short": summarize(await time_select(router, short_request(model), iterations)),
            "agent_36kb": summarize(await time_select(router, agent_request(model), iterations)),
        }
    router = Router(OpenClawConfig.from_dict({"router": {"strategy": "round_robin", "fallback_models": ["large"]}, "llms": LLMS}))
    results["service_round_robin_instant_backend"] = {"short": summarize(await time_service(router, short_request("auto"), iterations // 4))}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.iterations))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"routing overhead per request, microseconds ({args.iterations} iterations, Python {sys.version.split()[0]})")
    print(f"{'strategy':<38} {'request':<11} {'mean':>8} {'p50':>8} {'p99':>8}")
    for name, by_request in results.items():
        for request, stats in by_request.items():
            print(f"{name:<38} {request:<11} {stats['mean_us']:>8} {stats['p50_us']:>8} {stats['p99_us']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
