"""Text features: TF-IDF over word unigrams and bigrams, no network, no model hub.

Fitting counts n-grams with scikit-learn's ``CountVectorizer`` and computes what its
``TfidfVectorizer`` would (lowercase, ``\\b\\w\\w+\\b`` tokens, 1-2 word n-grams, terms in at
least 2 texts, sublinear tf, smoothed idf, L2 norm). Applying the fitted vocabulary to one
query is done with the standard library and numpy, because scikit-learn's per-call overhead
(input validation, sparse-matrix construction, ~0.3 ms) would use most of the per-request
budget. The tests check that all three give the same vectors.

:data:`NAME` and :data:`VERSION` go into every router's manifest. Change ``VERSION`` whenever
a change here would turn the same text into a different vector: routers fitted with another
version are then refused at load time instead of routing on garbage.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["NAME", "VERSION", "Featurizer", "fit_featurizer"]

NAME = "tfidf-words-1-2"
VERSION = 1
SETTINGS: dict[str, Any] = {"ngram_range": [1, 2], "min_df": 2, "max_features": 60000, "sublinear_tf": True}
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
VOCABULARY_FILE = "vocabulary.json"
IDF_FILE = "idf.npy"


class Featurizer:
    """A fitted vocabulary and idf: ``transform(text)`` -> sparse ``(indices, values)``."""

    def __init__(self, terms: list[str], idf: np.ndarray) -> None:
        if len(terms) != len(idf):
            raise ValueError(f"{len(terms)} terms but {len(idf)} idf weights")
        self.terms = terms
        self.index = {term: i for i, term in enumerate(terms)}
        self.idf = np.asarray(idf, dtype=np.float64)

    @property
    def size(self) -> int:
        return len(self.terms)

    def transform(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The L2-normalized TF-IDF vector of ``text`` as (term indices, weights)."""
        tokens = _TOKEN.findall(text.lower())
        grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
        index = self.index
        counts = Counter(index[g] for g in grams if g in index)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values = (np.log(tf) + 1.0) * self.idf[indices]
        values /= np.sqrt(values @ values)
        return indices, values

    def save(self, directory: Path) -> list[str]:
        (directory / VOCABULARY_FILE).write_text(json.dumps(self.terms, ensure_ascii=False), encoding="utf-8")
        np.save(directory / IDF_FILE, self.idf)
        return [VOCABULARY_FILE, IDF_FILE]

    @classmethod
    def load(cls, directory: Path) -> "Featurizer":
        terms = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        idf = np.load(directory / IDF_FILE, allow_pickle=False)
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ValueError(f"{VOCABULARY_FILE} is not a list of terms")
        return cls(terms, idf)


class NgramCounts:
    """Every query's word 1-2-gram counts, computed once (scikit-learn's ``CountVectorizer``).

    Cross-validation fits a featurizer per fold; deriving each from these counts (document
    frequencies of the fold's rows, then idf) gives the same vocabulary and vectors as fitting
    ``TfidfVectorizer`` on the fold's texts, without tokenizing the corpus again per fold.
    """

    def __init__(self, texts: list[str]) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        vectorizer = CountVectorizer(lowercase=True, token_pattern=_TOKEN.pattern, ngram_range=tuple(SETTINGS["ngram_range"]))
        self.matrix = vectorizer.fit_transform(texts).tocsr()
        self.terms = vectorizer.get_feature_names_out().tolist()

    def fit(self, rows: np.ndarray) -> tuple[Featurizer, np.ndarray]:
        """The featurizer fitted on ``rows`` and the columns of :attr:`matrix` it keeps."""
        counts = self.matrix[rows]
        df = np.bincount(counts.indices, minlength=len(self.terms))
        min_df = SETTINGS["min_df"] if len(rows) >= 20 else 1  # a handful of texts: keep every term
        keep = np.flatnonzero(df >= min_df)
        if len(keep) > SETTINGS["max_features"]:  # the most frequent terms, as scikit-learn keeps them
            totals = np.asarray(counts[:, keep].sum(axis=0)).ravel()
            keep = np.sort(keep[np.argsort(-totals, kind="stable")[: SETTINGS["max_features"]]])
        idf = np.log((1.0 + len(rows)) / (1.0 + df[keep])) + 1.0  # smoothed, as TfidfVectorizer
        return Featurizer([self.terms[i] for i in keep], idf), keep

    def tfidf(self, rows: np.ndarray, keep: np.ndarray, featurizer: Featurizer) -> Any:
        """The rows' TF-IDF matrix under ``featurizer`` (== ``featurizer.transform`` per row)."""
        from sklearn.preprocessing import normalize

        matrix = self.matrix[rows][:, keep].astype(np.float64)
        matrix.data = np.log(matrix.data) + 1.0
        matrix = matrix.multiply(featurizer.idf[np.newaxis, :]).tocsr()
        return normalize(matrix, norm="l2", copy=False)


def fit_featurizer(texts: list[str]) -> tuple[Featurizer, Any]:
    """Fit on ``texts``: the :class:`Featurizer` and the texts' CSR matrix (rows L2-normalized)."""
    counts = NgramCounts(texts)
    rows = np.arange(len(texts))
    featurizer, keep = counts.fit(rows)
    return featurizer, counts.tfidf(rows, keep, featurizer)
