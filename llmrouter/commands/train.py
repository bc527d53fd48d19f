"""``llmrouter train``: fit a router from a scores file and the candidates' prices.

Prices come from ``--llms`` (a JSON object ``{name: {input_price, output_price}}``) or from the
``llms:`` of a ``--config`` YAML. The router directory gets the fitted model, its manifest and
its cross-validated held-out metrics (see :mod:`llmrouter.training.router_dir`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from llmrouter.commands import CommandError, load_config, print_error

__all__ = ["add_parser", "candidate_prices", "run_from_cli"]


def add_parser(sub: Any) -> None:
    train = sub.add_parser(
        "train",
        help="fit a router (which model answers which query) from a scores file",
        description="Fit a router from per-query scores and the models' prices and write a router directory "
        "(fitted arrays, manifest, held-out metrics) for `route`, `eval` and `strategy: trained`.",
    )
    train.add_argument("--scores", required=True, help='JSONL, one {"query", "scores": {model: 0..1}, "cost": {model: usd}} per line')
    prices = train.add_mutually_exclusive_group(required=True)
    prices.add_argument("--llms", help="JSON {name: {input_price, output_price}} (USD per 1M tokens)")
    prices.add_argument("--config", help="YAML config: prices from its `llms:`")
    train.add_argument("--out", required=True, help="router directory to write")
    train.add_argument("--router", default="knn", choices=["knn", "linear"], help="router kind (default: knn)")
    train.add_argument("--k", type=int, help="knn: neighbours per decision (default 50)")
    train.add_argument("--alpha", type=float, help="linear: ridge regularization (default 3.0)")
    train.add_argument("--folds", type=int, default=5, help="cross-validation folds for the held-out metrics (default 5)")
    train.add_argument("--holdout", type=float, default=0.0, help="share of the rows kept out of training, for `eval` (default 0)")
    train.add_argument("--seed", type=int, default=0, help="seed of the folds and the held-out split (default: 0): the same seed, the same router")


def candidate_prices(args: argparse.Namespace) -> dict[str, Any]:
    """``{name: Prices}`` from ``--llms`` or ``--config``."""
    from llmrouter.training.data import load_llms

    if getattr(args, "llms", None):
        return load_llms(args.llms)
    return _config_prices(args.config)


def _config_prices(path: str) -> dict[str, Any]:
    from llmrouter.pricing import prices_of

    return {name: prices_of(llm) for name, llm in load_config(path).llms.items()}


def run_from_cli(args: argparse.Namespace) -> int:
    from llmrouter.training.data import DataError, load_scores
    from llmrouter.training.evaluation import format_table
    from llmrouter.training.fitting import fit_router
    from llmrouter.training.router_dir import save_router

    settings = {key: value for key, value in (("k", args.k), ("alpha", args.alpha)) if value is not None}
    problems = [
        f"{flag} must be {rule}"
        for flag, value, ok, rule in (
            ("--k", args.k, args.k is None or args.k >= 1, ">= 1"),
            ("--alpha", args.alpha, args.alpha is None or args.alpha > 0, "> 0"),
            ("--folds", args.folds, args.folds == 0 or args.folds >= 2, "0 (none) or >= 2"),
        )
        if not ok
    ]
    if problems:
        print_error("; ".join(problems))
        return 2
    try:
        prices = candidate_prices(args)
        data = load_scores(args.scores, prices)
        result = fit_router(data, args.router, settings, folds=args.folds, holdout=args.holdout, seed=args.seed)
    except (CommandError, DataError, ValueError) as exc:
        print_error(getattr(exc, "message", str(exc)))
        return 2
    path = save_router(
        args.out,
        featurizer=result.featurizer,
        kind=result.kind,
        models=data.models,
        model_cost=result.model_cost,
        prices={m: {"input_price": prices[m].input_price, "output_price": prices[m].output_price} for m in data.models},
        cost_weight=result.cost_weight,
        metrics=result.metrics,
        seen=result.train.queries,
        data={
            "path": data.path,
            "sha256": data.sha256,
            "rows": len(data.queries),
            "trained_rows": len(result.train.queries),
            "holdout": args.holdout,
            "seed": args.seed,
            "training_seconds": round(result.seconds, 2),
        },
    )
    if "router" in result.metrics:
        print(f"Held-out ({result.metrics['method']}):", file=sys.stderr)
        print(format_table(result.metrics), file=sys.stderr)
    else:
        print(f"no held-out metrics: {result.metrics.get('skipped')}", file=sys.stderr)
    print(
        f"{args.router} router over {len(data.models)} models, trained on {len(result.train.queries)} queries in "
        f"{result.seconds:.1f} s; default cost_weight {result.cost_weight:g}; written to {path}",
        file=sys.stderr,
    )
    return 0
