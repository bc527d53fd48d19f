"""Ask every candidate model every query, score the answers, append one record per pair.

Calls go through :func:`llmrouter.utils.api_calling.acall_api` (``call_api``'s async form:
same requests, same results, every failure in the result's ``error``). Concurrency is bounded
per provider (a Bedrock region or an OpenAI-compatible base URL): ``concurrency`` workers
each, so one slow provider does not starve the others and none is flooded.

Money: each answer's cost is its usage x the model's prices (:func:`llmrouter.pricing.usage_cost`).
With ``max_cost`` a call starts only if the money spent, plus the worst case of the calls in
flight, plus this call's worst case (prompt ~ characters / 3 + 16 tokens, answer = ``max_tokens``)
stays within the budget; otherwise no new call starts and the run ends cleanly.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from llmrouter.pricing import Prices, usage_cost
from llmrouter.secrets import redact
from llmrouter.training.metrics import MetricSkipped, score_answer
from llmrouter.training.queries import QueryRow

__all__ = ["Candidate", "GenerateOptions", "Summary", "run_generation"]


@dataclass(frozen=True)
class Candidate:
    """One model to ask: its call_api request (without the question), keys and prices."""

    name: str
    request: dict[str, Any]
    api_keys: tuple[str, ...]
    prices: Prices
    timeout: float
    provider: str  # the concurrency group: "bedrock:<region>" or the base URL


@dataclass(frozen=True)
class GenerateOptions:
    max_tokens: int = 512
    temperature: float = 0.01
    top_p: float = 0.9
    max_retries: int = 2
    system_prompt: str | None = None
    concurrency: int = 4
    max_cost: float | None = None
    code_eval: bool = True


@dataclass
class Summary:
    planned: int = 0
    already_done: int = 0
    scored: int = 0
    skipped: int = 0
    errors: int = 0
    spent: float = 0.0
    stopped_by_budget: bool = False
    error_codes: Counter = field(default_factory=Counter)
    skip_reasons: Counter = field(default_factory=Counter)

    @property
    def not_run(self) -> int:
        return self.planned - self.scored - self.skipped - self.errors


def worst_case_cost(query: str, system_prompt: str | None, max_tokens: int, prices: Prices) -> float:
    chars = len(query) + len(system_prompt or "")
    prompt = math.ceil(chars / 3) + 16
    return usage_cost({"prompt_tokens": prompt, "completion_tokens": max_tokens}, prices)


class _Budget:
    """Spent + reserved (calls in flight, at their worst case) never passes ``limit``."""

    def __init__(self, limit: float | None) -> None:
        self.limit, self.spent, self.reserved, self.exhausted = limit, 0.0, 0.0, False

    def reserve(self, amount: float) -> bool:
        if self.exhausted:
            return False
        if self.limit is not None and self.spent + self.reserved + amount > self.limit:
            self.exhausted = True
            return False
        self.reserved += amount
        return True

    def settle(self, reserved: float, actual: float) -> None:
        self.reserved -= reserved
        self.spent += actual


def _score(row: QueryRow, answer: str, options: GenerateOptions) -> tuple[float | None, str | None]:
    if row.metric == "code_eval" and not options.code_eval:
        return None, "code_eval disabled (--no-code-eval)"
    try:
        return score_answer(row.metric, answer, row.ground_truth, {**row.row, "query": row.query}), None
    except MetricSkipped as exc:
        return None, str(exc)


async def _ask(row: QueryRow, model: Candidate, options: GenerateOptions, client: Any) -> dict[str, Any]:
    from llmrouter.utils.api_calling import acall_api

    request = {**model.request, "query": row.query}
    if options.system_prompt:
        request["system_prompt"] = options.system_prompt
    return await acall_api(  # type: ignore[return-value]
        request,
        api_keys_env=list(model.api_keys),
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        top_p=options.top_p,
        timeout=model.timeout,
        max_retries=options.max_retries,
        client=client,
    )


async def run_generation(
    queries: list[QueryRow],
    candidates: list[Candidate],
    done: set[tuple[str, str]],
    out: IO[str],
    options: GenerateOptions,
) -> Summary:
    """Ask every (query, candidate) pair not in ``done``; one JSON line per pair to ``out``."""
    from tqdm import tqdm

    from llmrouter.utils.http_client import pooled_client

    summary = Summary(planned=len(queries) * len(candidates))
    queues: dict[str, asyncio.Queue[tuple[QueryRow, Candidate]]] = {}
    for row in queries:
        for model in candidates:
            if (row.key, model.name) in done:
                summary.already_done += 1
                continue
            queues.setdefault(model.provider, asyncio.Queue()).put_nowait((row, model))
    summary.planned -= summary.already_done
    budget = _Budget(options.max_cost)
    bar = tqdm(total=summary.planned, file=sys.stderr, unit="call", desc="generate", disable=None, dynamic_ncols=True)

    def write(record: dict[str, Any]) -> None:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()  # a kill after this line loses nothing of this pair

    async def worker(queue: asyncio.Queue[tuple[QueryRow, Candidate]]) -> None:
        while not queue.empty():
            row, model = queue.get_nowait()
            reserved = worst_case_cost(row.query, options.system_prompt, options.max_tokens, model.prices)
            if not budget.reserve(reserved):
                return
            started = time.perf_counter()
            result = await _ask(row, model, options, client)
            usage = {"prompt_tokens": result.get("prompt_tokens", 0), "completion_tokens": result.get("completion_tokens", 0)}
            cost = usage_cost(usage, model.prices)
            budget.settle(reserved, cost)
            record: dict[str, Any] = {
                "key": row.key, "line": row.line, "task_name": row.task_name, "model": model.name, "metric": row.metric,
                "query": row.query, "prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
                "latency_s": round(float(result.get("response_time") or time.perf_counter() - started), 4), "cost": cost,
            }
            if result.get("error"):  # an API failure is not a wrong answer: no score at all
                record.update(score=None, error=redact(str(result["error"])), error_code=result.get("error_code"))
                summary.errors += 1
                summary.error_codes[result.get("error_code") or "error"] += 1
            else:
                answer = str(result.get("response") or "")
                score, skipped = await asyncio.to_thread(_score, row, answer, options)
                record.update(score=score, response=redact(answer))  # an upstream may echo a key
                if skipped:
                    record["skipped"] = skipped
                    summary.skipped += 1
                    summary.skip_reasons[skipped] += 1
                else:
                    summary.scored += 1
            write(record)
            summary.spent = budget.spent
            bar.set_postfix(spent=f"${budget.spent:.4f}", errors=summary.errors, refresh=False)
            bar.update(1)

    # This loop owns the pooled client every call goes out on (Bedrock's Converse calls too).
    client = pooled_client()
    try:
        workers = [worker(q) for q in queues.values() for _ in range(max(1, options.concurrency))]
        await asyncio.gather(*workers)
    finally:
        bar.close()
        summary.spent = budget.spent
        summary.stopped_by_budget = budget.exhausted
        await client.aclose()
    return summary


def open_runs(path: str | Path) -> IO[str]:
    """The runs file, opened for appending (created if needed)."""
    return open(path, "a", encoding="utf-8")  # noqa: SIM115 - the caller closes it
