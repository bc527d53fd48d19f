"""The input of ``llmrouter generate``: a query file, one JSON object per line.

Each line has ``query`` and ``ground_truth`` (any JSON value; lists and dicts are kept as
their JSON text), ``metric`` (see :mod:`.metrics`), and optionally ``task_name`` and
``choices``. Everything is checked before the first call: a bad line stops the run with
``path, line N: problem``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmrouter.jsonl import lines_of, objects, read_text
from llmrouter.training.data import DataError
from llmrouter.training.metrics import METRICS, canonical_metric

__all__ = ["QueryRow", "load_queries"]


@dataclass(frozen=True)
class QueryRow:
    line: int
    key: str  # identifies the row across runs: a digest of query, ground truth and metric
    query: str
    ground_truth: str
    metric: str
    task_name: str | None
    row: dict[str, Any]


def _key(query: str, truth: str, metric: str) -> str:
    return hashlib.blake2b("\x00".join((query, truth, metric)).encode("utf-8"), digest_size=10).hexdigest()


def load_queries(path: str | Path) -> list[QueryRow]:
    rows: list[QueryRow] = []
    for number, item in objects(path, lines_of(read_text(path, DataError)), DataError):
        where = f"{path}, line {number}"
        if not isinstance(item, dict):
            raise DataError(f'{where}: expected a JSON object {{"query", "ground_truth", "metric"}}')
        query = item.get("query")
        if not isinstance(query, str) or not query.strip():
            raise DataError(f"{where}: missing field 'query' (a non-empty string)")
        if item.get("ground_truth") is None:
            raise DataError(f"{where}: missing field 'ground_truth'")
        metric = canonical_metric(item.get("metric"))
        if metric is None:
            raise DataError(f"{where}: unknown or missing metric {item.get('metric')!r} (known: {', '.join(METRICS)})")
        truth = item["ground_truth"]
        truth = truth if isinstance(truth, str) else json.dumps(truth, ensure_ascii=False)
        task = item.get("task_name")
        rows.append(QueryRow(number, _key(query, truth, metric), query, truth, metric, str(task) if task is not None else None, item))
    if not rows:
        raise DataError(f"{path}: no queries (expected one JSON object per line with query, ground_truth, metric)")
    return rows
