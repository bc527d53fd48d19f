"""Fit a router: held-out metrics by k-fold cross-validation, then the final fit on all rows.

Cross-validation refits the featurizer in every fold (the held-out queries' words must not be
in its vocabulary), so ``metrics.json`` measures what a router does on queries it never saw.
``holdout`` keeps a share of the file out of training entirely; ``llmrouter eval`` on the same
file then evaluates on exactly those rows (it recognizes the training queries by their hashes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmrouter.training import decision
from llmrouter.training import featurizer as features
from llmrouter.training.data import RoutingData
from llmrouter.training.evaluation import default_cost_weight, summarize
from llmrouter.training.kinds import KINDS, Kind

__all__ = ["FitResult", "fit_router", "transform_many"]


@dataclass
class FitResult:
    featurizer: features.Featurizer
    kind: Kind
    train: RoutingData
    model_cost: dict[str, float]
    relative_cost: np.ndarray
    metrics: dict[str, Any]
    cost_weight: float
    seconds: float


def transform_many(featurizer: features.Featurizer, texts: list[str]) -> Any:
    """A CSR matrix of ``featurizer.transform`` rows: exactly what serving computes."""
    from scipy.sparse import csr_matrix

    pieces = [featurizer.transform(t) for t in texts]
    indptr = np.cumsum([0] + [len(i) for i, _ in pieces])
    indices = np.concatenate([i for i, _ in pieces]) if pieces else np.zeros(0, dtype=np.int64)
    data = np.concatenate([v for _, v in pieces]) if pieces else np.zeros(0)
    return csr_matrix((data, indices, indptr), shape=(len(texts), featurizer.size))


def _fit(
    kind_name: str, settings: dict[str, Any], data: RoutingData, counts: features.NgramCounts, rows: np.ndarray
) -> tuple[features.Featurizer, Kind, np.ndarray]:
    """Featurizer and router fitted on ``rows`` of ``data`` (and the count columns kept)."""
    featurizer, keep = counts.fit(rows)
    return featurizer, KINDS[kind_name].fit(counts.tfidf(rows, keep, featurizer), data.scores[rows], settings), keep



def _mean_cost(cost: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.nanmean(cost, axis=0), nan=0.0)


def cross_validate(
    data: RoutingData, kind_name: str, settings: dict[str, Any], folds: int, seed: int, counts: features.NgramCounts
) -> dict[str, Any]:
    """Out-of-fold predictions for every row, summarized against single models and the oracle."""
    from sklearn.model_selection import KFold

    n = len(data.queries)
    if folds == 0:
        return {"skipped": "--folds 0: no cross-validation asked"}
    folds = min(folds, n)
    if folds < 2:
        return {"skipped": f"{n} row(s): too few for cross-validation"}
    predicted = np.zeros_like(data.scores)
    relative = np.zeros((folds, data.scores.shape[1]))
    for f, (train_rows, test_rows) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(np.arange(n))):
        featurizer, kind, keep = _fit(kind_name, settings, data, counts, train_rows)
        predicted[test_rows] = kind.predict_many(counts.tfidf(test_rows, keep, featurizer))
        relative[f] = decision.relative_cost(_mean_cost(data.cost[train_rows]))
    complete = data.complete
    if not complete.any():
        return {"skipped": "no query has a score for every model, so no two routings can be compared"}
    # Each fold decides with its own training costs; their mean is the same up to noise.
    summary = summarize(data.models, data.scores[complete], data.cost[complete], predicted[complete], relative.mean(axis=0))
    return {"method": f"{folds}-fold cross-validation", "seed": seed, **summary}


def fit_router(
    data: RoutingData,
    kind_name: str = "knn",
    settings: dict[str, Any] | None = None,
    *,
    folds: int = 5,
    holdout: float = 0.0,
    seed: int = 0,
) -> FitResult:
    """Cross-validate, then fit on every training row (all rows but the ``holdout`` share)."""
    if kind_name not in KINDS:
        raise ValueError(f"unknown router kind '{kind_name}' (known: {', '.join(KINDS)})")
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"--holdout must be in [0, 1), got {holdout}")
    started = time.perf_counter()
    settings = dict(settings or {})
    rows = np.arange(len(data.queries))
    if holdout:
        rows = np.sort(np.random.default_rng(seed).permutation(rows)[: max(1, round(len(rows) * (1 - holdout)))])
    train = data.subset(rows)
    counts = features.NgramCounts(train.queries)  # tokenized once for every fold and the final fit
    metrics = cross_validate(train, kind_name, settings, folds, seed, counts)
    featurizer, kind, _ = _fit(kind_name, settings, train, counts, np.arange(len(train.queries)))
    model_cost = _mean_cost(train.cost)
    weight = default_cost_weight(metrics) if "router" in metrics else 0.0
    return FitResult(
        featurizer,
        kind,
        train,
        dict(zip(data.models, map(float, model_cost))),
        decision.relative_cost(model_cost),
        metrics,
        weight,
        time.perf_counter() - started,
    )
