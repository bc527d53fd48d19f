"""The routing decision, in one place: the best predicted score net of a cost penalty.

``pick = argmax(predicted - cost_weight * relative_cost)``, where ``relative_cost`` is each
model's mean cost over the most expensive one's, and a model the caller may not use gets an
infinite penalty. Training's evaluation, ``llmrouter route`` and ``serve``'s ``trained``
strategy all decide through these functions, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["penalty", "picks", "relative_cost"]


def relative_cost(model_cost: np.ndarray) -> np.ndarray:
    """Each model's cost over the most expensive one's (all zero when nothing costs anything)."""
    top = model_cost.max()
    return model_cost / top if top > 0 else np.zeros_like(model_cost)


def penalty(relative: np.ndarray, cost_weight: float, allowed: Sequence[bool] | None = None) -> np.ndarray:
    """What each model's predicted score loses: its relative cost times the weight, and
    infinity for a model that is not ``allowed``."""
    out = cost_weight * relative
    if allowed is not None:
        out = out + np.where(np.asarray(allowed, dtype=bool), 0.0, np.inf)
    return out


def picks(predicted: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Index of the chosen model: one for a row of scores, one per row for a matrix."""
    return np.argmax(predicted - loss, axis=-1)
