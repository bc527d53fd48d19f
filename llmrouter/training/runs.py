"""The runs file of ``llmrouter generate``: one JSON line per (query, model) attempt.

It is appended to as answers arrive (one ``write`` and a flush per line), so killing the run
loses at most the line being written; on restart a partial last line is cut off and every
pair whose last record is a success or a skip is not asked again (pairs that ended in an API
error are retried). :func:`aggregate` turns it into the per-query scores file that
``llmrouter train`` reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llmrouter.jsonl import lines_of, objects
from llmrouter.training.data import DataError
from llmrouter.training.queries import QueryRow

__all__ = ["aggregate", "latest_by_pair", "read_runs", "write_scores"]


def read_runs(path: str | Path) -> tuple[list[dict[str, Any]], bool]:
    """The records of an existing runs file (``[]`` if none), and whether a partial line was cut."""
    file = Path(path)
    if not file.exists():
        return [], False
    data = file.read_bytes()
    end = data.rfind(b"\n") + 1
    cut = end < len(data)
    if cut:  # the run was killed mid-line: drop the fragment so appends start on a fresh line
        with open(file, "r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
    records = []
    # A bad line names itself; fixing or removing it lets the run resume.
    for number, record in objects(path, lines_of(data[:end].decode("utf-8")), DataError):
        if not isinstance(record, dict) or "key" not in record or "model" not in record:
            raise DataError(f"{path}, line {number}: not a generate record (no 'key' and 'model'); is this the right file?")
        records.append(record)
    return records, cut


def latest_by_pair(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The last record of each (query key, model): a retry supersedes an earlier error."""
    return {(r["key"], r["model"]): r for r in records}


def aggregate(queries: list[QueryRow], records: Iterable[dict[str, Any]], models: list[str]) -> list[dict[str, Any]]:
    """Per-query rows ``{"query", "task_name", "scores": {model: s}, "cost": {model: usd}}``.

    Only scored pairs count: errors and skipped pairs are left out (a model without a score
    for a query is not trained on for it). Queries without any scored model are omitted.
    """
    latest = latest_by_pair(records)
    rows = []
    for q in queries:
        scores, cost = {}, {}
        for model in models:
            record = latest.get((q.key, model))
            if record is None or record.get("error") or record.get("score") is None:
                continue
            scores[model] = record["score"]
            cost[model] = record.get("cost", 0.0)
        if scores:
            rows.append({"query": q.query, "task_name": q.task_name, "scores": scores, "cost": cost})
    return rows


def write_scores(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write atomically (a temporary file renamed): a reader never sees half a scores file."""
    file = Path(path)
    temporary = file.with_name(file.name + ".tmp")
    temporary.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    os.replace(temporary, file)
