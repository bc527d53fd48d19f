"""The cost/quality picture: the router's curve over cost_weight, single models as points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_summary"]


def plot_summary(summary: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Write a PNG: x = mean cost per query, y = mean score; returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    for name, point in summary["models"].items():
        best = name == summary["best_model"]
        ax.scatter(point["cost"], point["quality"], s=40, color="tab:red" if best else "tab:gray", zorder=3)
        ax.annotate(name, (point["cost"], point["quality"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
    oracle = summary["oracle"]
    ax.scatter(oracle["cost"], oracle["quality"], marker="*", s=160, color="tab:green", zorder=3, label="oracle (best model per query)")
    curve = sorted(summary["router"], key=lambda p: p["cost"])
    ax.plot([p["cost"] for p in curve], [p["quality"] for p in curve], "-o", color="tab:blue", markersize=4, label="router (cost_weight sweep)", zorder=2)
    for point in summary["router"]:
        ax.annotate(f"{point['cost_weight']:g}", (point["cost"], point["quality"]), fontsize=6, color="tab:blue", xytext=(3, -9), textcoords="offset points")
    ax.set_xlabel("mean cost per query")
    ax.set_ylabel("mean score (quality)")
    ax.set_title(title or f"Cost and quality on {summary['rows']} held-out queries")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out
