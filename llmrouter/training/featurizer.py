"""Text features: TF-IDF over word unigrams and bigrams, no network, no model hub.

Fitting uses scikit-learn's ``TfidfVectorizer`` (lowercase, ``\\b\\w\\w+\\b`` tokens, 1-2 word
n-grams, sublinear tf, smoothed idf, L2 norm). Applying the fitted vocabulary to one query is
done here with the standard library and numpy, because scikit-learn's per-call overhead (its
input validation and sparse-matrix construction, ~0.3 ms) would use most of the per-request
budget; the test suite checks that both give the same vector.

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


def fit_featurizer(texts: list[str]) -> tuple[Featurizer, Any]:
    """Fit on ``texts``: the :class:`Featurizer` and the texts' CSR matrix (rows L2-normalized)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    settings = dict(SETTINGS, ngram_range=tuple(SETTINGS["ngram_range"]))
    # min_df counts documents: with very few texts, keep every term rather than none.
    if len(texts) < 20:
        settings["min_df"] = 1
    vectorizer = TfidfVectorizer(lowercase=True, token_pattern=_TOKEN.pattern, **settings)
    matrix = vectorizer.fit_transform(texts)
    terms = [""] * len(vectorizer.vocabulary_)
    for term, i in vectorizer.vocabulary_.items():
        terms[i] = term
    return Featurizer(terms, vectorizer.idf_), matrix.tocsr()
