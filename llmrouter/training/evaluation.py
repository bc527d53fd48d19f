"""Quality and cost of routing decisions, beside every single model and the per-query oracle.

Quality is the mean score of the picked models, cost the mean cost of the picks (US dollars
per query, or the price unit when the data has no costs). Only rows with a score for every
model are compared, so every line of the table is measured on the same queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from llmrouter.training import decision

__all__ = ["SWEEP", "default_cost_weight", "format_table", "summarize"]

# cost_weight values every evaluation reports: dense where the curve bends (small weights).
SWEEP = (0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)


def _point(scores: np.ndarray, cost: np.ndarray, picks: np.ndarray) -> dict[str, float]:
    rows = np.arange(len(picks))
    return {"quality": float(scores[rows, picks].mean()), "cost": float(cost[rows, picks].mean())}


def summarize(
    models: Sequence[str],
    scores: np.ndarray,
    cost: np.ndarray,
    predicted: np.ndarray,
    relative_cost: np.ndarray,
    sweep: Sequence[float] = SWEEP,
) -> dict[str, Any]:
    """The comparison table as a dict (what ``eval --json`` prints and metrics.json holds)."""
    if len(scores) == 0:
        raise ValueError("no query has a score for every model: nothing to compare")
    singles = {m: {"quality": float(scores[:, j].mean()), "cost": float(cost[:, j].mean())} for j, m in enumerate(models)}
    best = max(singles, key=lambda m: (singles[m]["quality"], -singles[m]["cost"]))
    # The oracle takes the best-scoring model of each query, the cheapest among equals.
    oracle_key = scores - 1e-9 * cost / max(float(cost.max()), 1e-12)
    oracle = _point(scores, cost, np.argmax(oracle_key, axis=1))
    ref = singles[best]
    router = []
    for weight in sweep:
        point = _point(scores, cost, decision.picks(predicted, decision.penalty(relative_cost, weight)))
        point["quality_vs_best"] = point["quality"] / ref["quality"] if ref["quality"] else float("nan")
        point["cost_vs_best"] = point["cost"] / ref["cost"] if ref["cost"] else float("nan")
        router.append({"cost_weight": weight, **point})
    return {"rows": int(len(scores)), "models": singles, "best_model": best, "oracle": oracle, "router": router}


def default_cost_weight(summary: dict[str, Any]) -> float:
    """The cheapest setting that matches the best single model's quality, else the best quality.

    This is what ``serve`` and ``route`` use when neither the YAML nor ``--cost-weight`` says.
    """
    points = summary["router"]
    matching = [p for p in points if p["quality_vs_best"] >= 1.0]
    if matching:
        return min(matching, key=lambda p: (p["cost"], -p["quality"]))["cost_weight"]
    return max(points, key=lambda p: (p["quality"], -p["cost"]))["cost_weight"]


def format_table(summary: dict[str, Any]) -> str:
    """The terminal table: single models, the oracle, then the router at each cost_weight."""
    best = summary["models"][summary["best_model"]]

    def line(name: str, point: dict[str, float]) -> str:
        q = point["quality"] / best["quality"] if best["quality"] else float("nan")
        c = point["cost"] / best["cost"] if best["cost"] else float("nan")
        return f"{name:<40} {point['quality']:>8.4f} {point['cost']:>12.6g} {q:>8.1%} {c:>8.1%}"

    out = [f"{summary['rows']} queries; best single model: {summary['best_model']}", ""]
    out.append(f"{'':<40} {'quality':>8} {'cost/query':>12} {'q/best':>8} {'c/best':>8}")
    for name, point in sorted(summary["models"].items(), key=lambda kv: -kv[1]["quality"]):
        out.append(line(name, point))
    out.append(line("oracle (best model per query)", summary["oracle"]))
    for point in summary["router"]:
        out.append(line(f"router, cost_weight={point['cost_weight']:g}", point))
    return "\n".join(out)
