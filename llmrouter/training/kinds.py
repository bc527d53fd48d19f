"""The router kinds: each predicts every candidate's score for a query from its features.

``knn``     the similarity-weighted mean score of the ``k`` most similar training queries
            (cosine on TF-IDF), smoothed toward each model's mean. Stored as the training
            matrix by term (an inverted index) and the training scores.
``linear``  one ridge regression per model on the TF-IDF features (a per-model quality
            predictor). Stored as a weight matrix and intercepts.

Both are fitted with scikit-learn/scipy and predict one query with numpy alone, from arrays
saved with ``np.save`` (never pickle). A pair without a score (NaN) is not used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

__all__ = ["KINDS", "Kind", "KnnKind", "LinearKind"]


class Kind(Protocol):
    name: str
    settings: dict[str, Any]

    def predict(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Predicted score per model for one sparse feature vector."""

    def predict_many(self, matrix: Any) -> np.ndarray:
        """Predicted scores (rows x models) for a CSR matrix of feature rows."""

    def save(self, directory: Path) -> list[str]: ...


def _column_means(scores: np.ndarray) -> np.ndarray:
    counts = (~np.isnan(scores)).sum(axis=0)
    return np.where(counts > 0, np.nansum(scores, axis=0) / np.maximum(counts, 1), 0.0)


class KnnKind:
    """Score = (sum of sim x score over the k nearest + prior x mean) / (sum of sim + prior)."""

    name = "knn"
    DEFAULTS: dict[str, Any] = {"k": 50, "prior": 0.05}
    FILES = ("knn_indptr.npy", "knn_rows.npy", "knn_data.npy", "knn_scores.npy")

    def __init__(self, indptr: np.ndarray, rows: np.ndarray, data: np.ndarray, scores: np.ndarray, settings: dict[str, Any]) -> None:
        self.indptr, self.rows, self.data = indptr, rows, data
        self.settings = {**self.DEFAULTS, **settings}
        self.k = int(self.settings["k"])
        self.prior = float(self.settings["prior"])
        self.n_rows = scores.shape[0]
        self.known = (~np.isnan(scores)).astype(np.float64)
        self.filled = np.nan_to_num(scores, nan=0.0)
        self.means = _column_means(scores)

    @classmethod
    def fit(cls, matrix: Any, scores: np.ndarray, settings: dict[str, Any]) -> "KnnKind":
        by_term = matrix.tocsc()
        by_term.sort_indices()
        return cls(by_term.indptr.astype(np.int64), by_term.indices.astype(np.int32), by_term.data.astype(np.float32), scores, settings)

    def _combine(self, sims: np.ndarray, top: np.ndarray) -> np.ndarray:
        weights = sims[top]
        return (weights @ self.filled[top] + self.prior * self.means) / (weights @ self.known[top] + self.prior)

    def predict(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        starts, ends = self.indptr[indices], self.indptr[indices + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return self.means.copy()
        # Every posting of the query's terms, as one flat index (concatenated ranges).
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        sims = np.bincount(self.rows[offsets], weights=np.repeat(values, lengths) * self.data[offsets], minlength=self.n_rows)
        k = min(self.k, self.n_rows)
        top = np.argpartition(-sims, k - 1)[:k] if k < self.n_rows else np.arange(self.n_rows)
        return self._combine(sims, top)

    def predict_many(self, matrix: Any) -> np.ndarray:
        train = self._train_matrix()
        out = np.empty((matrix.shape[0], self.filled.shape[1]))
        for start in range(0, matrix.shape[0], 512):  # bounded memory: 512 x rows similarities
            sims = (matrix[start : start + 512] @ train.T).toarray()
            k = min(self.k, self.n_rows)
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < self.n_rows else np.tile(np.arange(self.n_rows), (sims.shape[0], 1))
            for i in range(sims.shape[0]):
                out[start + i] = self._combine(sims[i], top[i])
        return out

    def _train_matrix(self) -> Any:
        from scipy.sparse import csc_matrix

        n_terms = len(self.indptr) - 1
        return csc_matrix((self.data, self.rows, self.indptr), shape=(self.n_rows, n_terms)).tocsr()

    def save(self, directory: Path) -> list[str]:
        scores = np.where(self.known > 0, self.filled, np.nan)
        for name, array in zip(self.FILES, (self.indptr, self.rows, self.data, scores)):
            np.save(directory / name, array)
        return list(self.FILES)

    @classmethod
    def load(cls, directory: Path, settings: dict[str, Any], n_terms: int, n_models: int) -> "KnnKind":
        indptr, rows, data, scores = (np.load(directory / name, allow_pickle=False) for name in cls.FILES)
        if indptr.shape != (n_terms + 1,) or rows.shape != data.shape or scores.ndim != 2 or scores.shape[1] != n_models:
            raise ValueError("the kNN arrays do not match the vocabulary or the models")
        if rows.size and (rows.max() >= scores.shape[0] or indptr[-1] != rows.size):
            raise ValueError("the kNN index points outside its training rows")
        return cls(indptr, rows, data, scores, settings)


class LinearKind:
    """Score = features . weights[model] + intercept[model] (ridge regression per model)."""

    name = "linear"
    DEFAULTS: dict[str, Any] = {"alpha": 3.0}
    FILES = ("linear_weights.npy", "linear_intercept.npy")

    def __init__(self, weights: np.ndarray, intercept: np.ndarray, settings: dict[str, Any]) -> None:
        self.weights, self.intercept = weights, intercept
        self.settings = {**self.DEFAULTS, **settings}

    @classmethod
    def fit(cls, matrix: Any, scores: np.ndarray, settings: dict[str, Any]) -> "LinearKind":
        from sklearn.linear_model import Ridge

        alpha = float({**cls.DEFAULTS, **settings}["alpha"])
        n_terms, n_models = matrix.shape[1], scores.shape[1]
        weights = np.zeros((n_terms, n_models), dtype=np.float32)
        intercept = np.zeros(n_models)
        known = ~np.isnan(scores)
        if known.all():  # one multi-output fit when nothing is missing
            ridge = Ridge(alpha=alpha, solver="sparse_cg").fit(matrix, scores)
            weights[:] = ridge.coef_.T
            intercept[:] = ridge.intercept_
        else:
            for j in range(n_models):
                rows = np.flatnonzero(known[:, j])
                if rows.size:
                    ridge = Ridge(alpha=alpha, solver="sparse_cg").fit(matrix[rows], scores[rows, j])
                    weights[:, j] = ridge.coef_
                    intercept[j] = ridge.intercept_
        return cls(weights, intercept, settings)

    def predict(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        return values @ self.weights[indices] + self.intercept

    def predict_many(self, matrix: Any) -> np.ndarray:
        return np.asarray(matrix @ self.weights) + self.intercept

    def save(self, directory: Path) -> list[str]:
        np.save(directory / self.FILES[0], self.weights)
        np.save(directory / self.FILES[1], self.intercept)
        return list(self.FILES)

    @classmethod
    def load(cls, directory: Path, settings: dict[str, Any], n_terms: int, n_models: int) -> "LinearKind":
        weights, intercept = (np.load(directory / name, allow_pickle=False) for name in cls.FILES)
        if weights.shape != (n_terms, n_models) or intercept.shape != (n_models,):
            raise ValueError("the linear weights do not match the vocabulary or the models")
        return cls(weights, intercept, settings)


KINDS: dict[str, Any] = {KnnKind.name: KnnKind, LinearKind.name: LinearKind}
