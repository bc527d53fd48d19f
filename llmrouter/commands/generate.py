"""``llmrouter generate``: routing data from a query file and the models of a config.

Every query of ``--queries`` goes to every candidate (``--models``, default: every model under
``llms:``) through call_api; each answer is scored with the row's metric and appended to
``--runs`` as one JSON line (tokens, latency, cost, score or error). At the end (also after a
budget stop or Ctrl-C) the per-query scores file that ``llmrouter train`` reads is written to
``--output``. Rerunning with the same ``--runs`` skips the pairs already answered.

Exit code: 0 when every pair is scored or skipped, 1 when some ended in an API error or the
budget stopped the run, 2 for usage problems, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from llmrouter.commands import EXIT_FAILED, CommandError, load_config, model_choice, print_error, setup_logging
from llmrouter.commands.options import add_sampling_options

__all__ = ["add_parser", "run_from_cli"]


def add_parser(sub: Any) -> Any:
    gen = sub.add_parser(
        "generate",
        help="ask every model every query, score the answers: routing data for `train`",
        description="Send every query of a JSONL file to every candidate model of a YAML config through call_api(), "
        "score each answer with the row's metric and record tokens, latency and cost as it goes. Rerun to resume.",
    )
    gen.add_argument("--queries", required=True, help="JSONL: query, ground_truth, metric (task_name, choices optional)")
    gen.add_argument("--config", required=True, help="YAML config: the candidate models under `llms:` (with prices)")
    gen.add_argument("--models", help="comma-separated names under `llms:` (default: all)")
    gen.add_argument("--output", required=True, help="scores file to write (JSONL, the input of `llmrouter train`)")
    gen.add_argument("--runs", help="per-(query, model) records, appended and resumed (default: OUTPUT with .runs.jsonl)")
    gen.add_argument("--max-cost", type=float, metavar="USD", help="stop before the money spent could pass this budget")
    gen.add_argument("--concurrency", type=int, default=4, help="calls in flight per provider (default 4)")
    add_sampling_options(gen, temperature=0.01)
    gen.add_argument("--timeout", type=float, help="seconds per call (default: the model's `timeout`, else 60)")
    gen.add_argument("--max-retries", type=int, default=2, help="retries of throttling/5xx/timeouts per call (default 2)")
    gen.add_argument("--system-prompt", help="system prompt for every query")
    gen.add_argument("--no-code-eval", action="store_true", help="do not run answers' code: code_eval pairs are skipped")
    return gen


def _candidates(args: argparse.Namespace) -> list[Any]:
    from llmrouter.pricing import prices_of
    from llmrouter.training.generation import Candidate

    config = load_config(args.config)
    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else list(config.llms)
    candidates = []
    for name in dict.fromkeys(names):
        choice = model_choice(config, name)
        llm = choice.llm
        prices = prices_of(llm)
        if args.max_cost is not None and not prices.known:
            raise CommandError(f"{config.source}: llms.{name} has no input_price/output_price, so --max-cost cannot bound its spending")
        provider = f"bedrock:{llm.aws_region or 'default'}" if llm.is_bedrock else str(llm.base_url)
        candidates.append(Candidate(name, choice.request, choice.api_keys, prices, choice.timeout(args.timeout, 60.0), provider))
    return candidates


def run_from_cli(args: argparse.Namespace) -> int:
    import asyncio

    from llmrouter.training.data import DataError
    from llmrouter.training.generation import GenerateOptions, open_runs, run_generation
    from llmrouter.training.queries import load_queries
    from llmrouter.training.runs import aggregate, latest_by_pair, read_runs, write_scores

    setup_logging()
    runs_path = Path(args.runs or Path(args.output).with_suffix("").as_posix() + ".runs.jsonl")
    try:
        if args.concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        if args.max_cost is not None and args.max_cost < 0:
            raise CommandError("--max-cost must be >= 0")
        queries = load_queries(args.queries)
        candidates = _candidates(args)
        records, cut = read_runs(runs_path)
    except (CommandError, DataError) as exc:
        print_error(getattr(exc, "message", str(exc)))
        return 2
    if cut:
        print(f"{runs_path}: dropped a partial last line (the previous run was killed while writing it)", file=sys.stderr)
    done = {pair for pair, r in latest_by_pair(records).items() if not r.get("error")}
    options = GenerateOptions(
        max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p, max_retries=args.max_retries,
        system_prompt=args.system_prompt, concurrency=args.concurrency, max_cost=args.max_cost, code_eval=not args.no_code_eval,
    )
    interrupted = False
    summary = None
    try:
        with open_runs(runs_path) as out:
            summary = asyncio.run(run_generation(queries, candidates, done, out, options))
    except KeyboardInterrupt:
        interrupted = True
    records, _ = read_runs(runs_path)
    rows = aggregate(queries, records, [c.name for c in candidates])
    write_scores(args.output, rows)
    latest = latest_by_pair(records).values()
    errors = sum(1 for r in latest if r.get("error"))
    skipped = sum(1 for r in latest if r.get("skipped"))
    scored = sum(1 for r in latest if not r.get("error") and not r.get("skipped"))
    spent = sum(float(r.get("cost") or 0.0) for r in records)
    pairs = len(queries) * len(candidates)
    print(
        f"{scored} of {pairs} pairs scored, {skipped} skipped, {errors} API errors (not scored, retried on rerun); "
        f"${spent:.6g} spent in all runs" + (f", ${summary.spent:.6g} in this one" if summary else "")
        + f"; {len(rows)} queries written to {args.output} (records in {runs_path})",
        file=sys.stderr,
    )
    if summary and summary.error_codes:
        print("errors: " + ", ".join(f"{code} x{n}" for code, n in summary.error_codes.most_common()), file=sys.stderr)
    if summary and summary.skip_reasons:
        print("skipped: " + "; ".join(f"{why} x{n}" for why, n in summary.skip_reasons.most_common()), file=sys.stderr)
    if interrupted:
        print("interrupted: rerun the same command to continue", file=sys.stderr)
        return 130
    if summary and summary.stopped_by_budget:
        print(f"stopped: the next call could pass --max-cost ${args.max_cost:g}; {summary.not_run} pairs not asked", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if errors else 0
