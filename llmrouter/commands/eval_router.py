"""``llmrouter eval``: a trained router's quality and cost on queries it never saw.

Rows of ``--scores`` whose query was used in training are left out (the router directory
keeps hashes of its training queries). Prints the table (``--json``: the same as JSON) and
writes the cost/quality curve as a PNG with ``--plot``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from llmrouter.commands import print_error

__all__ = ["add_parser", "run_from_cli"]


def add_parser(sub: Any) -> None:
    ev = sub.add_parser(
        "eval",
        help="quality and cost of a trained router vs every model and the oracle",
        description="On queries the router never saw: the mean score and cost of its picks for a sweep of "
        "cost_weight, beside every single model and the per-query oracle (a table, --json, or a --plot PNG).",
    )
    ev.add_argument("--router", required=True, help="router directory (from `llmrouter train`)")
    ev.add_argument("--scores", required=True, help="scores file (JSONL) with queries the router has not seen")
    ev.add_argument("--json", action="store_true", help="print the results as JSON")
    ev.add_argument("--plot", metavar="FILE.png", help="write the cost/quality curve as a PNG")


def run_from_cli(args: argparse.Namespace) -> int:
    import numpy as np

    from llmrouter.training.data import load_scores
    from llmrouter.training.evaluation import format_table, summarize
    from llmrouter.training.fitting import transform_many
    from llmrouter.training.router_dir import load_router, query_hashes

    try:
        router = load_router(args.router)
        data = load_scores(args.scores, router.prices())
        if data.models != router.models:
            missing = sorted(set(router.models) - set(data.models))
            raise ValueError(f"{args.scores}: no scores for {', '.join(missing)}; the router chooses among {', '.join(router.models)}")
        unseen = ~np.isin(query_hashes(data.queries), router.seen_queries())
        rows = np.flatnonzero(unseen & data.complete)
        if rows.size == 0:
            raise ValueError(
                f"{args.scores}: every complete row was used to train {args.router}; evaluate on other queries "
                f"(or train with --holdout), the cross-validated metrics are in {args.router}/metrics.json"
            )
        test = data.subset(rows)
        predicted = router.kind.predict_many(transform_many(router.featurizer, test.queries))
        summary = summarize(test.models, test.scores, test.cost, predicted, router.relative_cost)
    except ValueError as exc:
        print_error(str(exc))
        return 2
    summary["left_out_seen_in_training"] = int((~unseen).sum())
    summary["left_out_incomplete"] = int((unseen & ~data.complete).sum())
    if args.plot:
        from llmrouter.training.plot import plot_summary

        plot_summary(summary, args.plot)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_table(summary))
        print(
            f"\n(left out: {summary['left_out_seen_in_training']} queries seen in training, "
            f"{summary['left_out_incomplete']} without every model's score)"
            + (f"; plot written to {args.plot}" if args.plot else "")
        )
    return 0
