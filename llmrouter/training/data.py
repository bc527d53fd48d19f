"""Routing data on disk: a scores file (JSON Lines) and the candidates' prices.

A scores file has one JSON object per query::

    {"query": "...", "scores": {"model-a": 1.0, "model-b": 0.0}, "cost": {"model-a": 0.0002}}

``scores`` are in [0, 1]; ``cost`` (US dollars per answer) is optional, per model. A row may
lack a model (``llmrouter generate`` leaves out a model whose call failed): that pair is not
used for training and the row is left out of evaluation, which needs every model's score.
Every problem is reported as ``path, line N: what is wrong`` so it can be fixed in an editor.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llmrouter.jsonl import lines_of, objects, read_text
from llmrouter.pricing import Prices, prices_of, usage_cost

__all__ = ["DataError", "RoutingData", "load_llms", "load_scores", "nominal_cost", "sha256_of"]

# A row without `cost` is charged the model's price: the cost of a nominal answer of one
# million tokens, half read and half written, i.e. (input_price + output_price) / 2.
_NOMINAL_USAGE = {"prompt_tokens": 500_000, "completion_tokens": 500_000}


class DataError(ValueError):
    """Bad routing data: the message names the file (and line) and the problem, on one line."""


def nominal_cost(prices: Prices) -> float:
    """What a row without ``cost`` charges for a model: ``(input_price + output_price) / 2``."""
    return usage_cost(_NOMINAL_USAGE, prices)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def load_llms(path: str | Path) -> dict[str, Prices]:
    """``{name: Prices}`` from a JSON object ``{name: {input_price, output_price, ...}}``."""
    text = read_text(path, DataError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not data:
        raise DataError(f'{path}: expected a JSON object {{"model name": {{"input_price": ..., "output_price": ...}}}}')
    llms: dict[str, Prices] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise DataError(f"{path}: '{name}' must be an object with input_price and output_price")
        for key in ("input_price", "output_price"):
            value = _number(entry.get(key))
            if value is None or not math.isfinite(value) or value < 0:
                raise DataError(f"{path}: '{name}'.{key} must be a number >= 0 (USD per 1M tokens), got {entry.get(key)!r}")
        llms[name] = prices_of(entry)
    return llms


@dataclass(frozen=True)
class RoutingData:
    """A scores file in arrays: ``scores[i, j]`` and ``cost[i, j]`` for query i, model j.

    A pair the file does not have is NaN in both. ``lines[i]`` is query i's line number.
    """

    path: str
    queries: list[str]
    models: list[str]
    scores: np.ndarray
    cost: np.ndarray
    lines: list[int]
    sha256: str

    @property
    def complete(self) -> np.ndarray:
        """Rows that have a score for every model (what evaluation can compare)."""
        return ~np.isnan(self.scores).any(axis=1)

    def subset(self, rows: np.ndarray) -> "RoutingData":
        return RoutingData(
            self.path,
            [self.queries[i] for i in rows],
            self.models,
            self.scores[rows],
            self.cost[rows],
            [self.lines[i] for i in rows],
            self.sha256,
        )


def _row_error(path: str | Path, number: int, message: str) -> DataError:
    return DataError(f"{path}, line {number}: {message}")


def _parse_row(path: str | Path, number: int, row: Any, llms: Mapping[str, Prices]) -> tuple[str, dict[str, float], dict[str, float]]:
    if not isinstance(row, dict):
        raise _row_error(path, number, 'expected a JSON object {"query": ..., "scores": {...}}')
    query = row.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _row_error(path, number, "missing field 'query' (a non-empty string)")
    scores = row.get("scores")
    if not isinstance(scores, dict):
        raise _row_error(path, number, "missing field 'scores' (an object {model: score in [0, 1]})")
    costs = row.get("cost", {})
    if costs is None:
        costs = {}
    if not isinstance(costs, dict):
        raise _row_error(path, number, "'cost' must be an object {model: US dollars}")
    for name in (*scores, *costs):
        if name not in llms:
            raise _row_error(path, number, f"unknown model '{name}' (not among the candidates: {', '.join(sorted(llms))})")
    parsed_scores: dict[str, float] = {}
    for name, value in scores.items():
        score = _number(value)
        if score is None or not math.isfinite(score) or not 0.0 <= score <= 1.0:
            raise _row_error(path, number, f"scores.{name} must be a number in [0, 1], got {value!r}")
        parsed_scores[name] = score
    parsed_costs: dict[str, float] = {}
    for name, value in costs.items():
        cost = _number(value)
        if cost is None or not math.isfinite(cost) or cost < 0:
            raise _row_error(path, number, f"cost.{name} must be a number >= 0 (US dollars), got {value!r}")
        parsed_costs[name] = cost
    return query, parsed_scores, parsed_costs


def load_scores(path: str | Path, llms: Mapping[str, Prices]) -> RoutingData:
    """Read and check a scores file; the models are those it scores, in ``llms`` order."""
    lines = lines_of(read_text(path, DataError))
    parsed = [(n, *_parse_row(path, n, row, llms)) for n, row in objects(path, lines, DataError)]
    if not parsed:
        raise DataError(f"{path}: no rows (expected one JSON object per line with 'query' and 'scores')")
    seen = {name for _, _, scores, _ in parsed for name in scores}
    models = [name for name in llms if name in seen]
    if len(models) < 2:
        raise DataError(f"{path}: scores for {len(models)} model(s); a router needs at least 2 candidates")
    column = {name: j for j, name in enumerate(models)}
    scores = np.full((len(parsed), len(models)), np.nan)
    cost = np.full((len(parsed), len(models)), np.nan)
    default_cost = np.array([nominal_cost(llms[name]) for name in models])
    for i, (_, _, row_scores, row_costs) in enumerate(parsed):
        for name, value in row_scores.items():
            j = column[name]
            scores[i, j] = value
            cost[i, j] = row_costs.get(name, default_cost[j])
    return RoutingData(
        str(path), [q for _, q, _, _ in parsed], models, scores, cost, [n for n, *_ in parsed], sha256_of(path)
    )
