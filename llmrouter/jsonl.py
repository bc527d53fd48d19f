"""JSON Lines in, one way: every reader of the CLI and the training data goes through here.

Lines are split on ``\\n`` only, never with ``str.splitlines()``: a query may hold U+2028 or
another Unicode line break inside its JSON string (the shared routing data has one), and
splitting there would cut a valid row in two. Every problem is one line that names the file
and, for a bad line, its number.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["lines_of", "objects", "read_text"]


def read_text(path: str | Path, error: type[Exception] = ValueError) -> str:
    """The whole file as text (``-``: standard input); unreadable or non-UTF-8 raises ``error``."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def lines_of(text: str) -> list[str]:
    """The lines of a JSONL text, split on ``\\n`` only (see the module's docstring)."""
    return text.split("\n")


def objects(path: str | Path, lines: list[str], error: type[Exception] = ValueError) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed JSON value)`` for every non-blank line; a bad line raises ``error``."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}, line {number}: not valid JSON ({exc.msg}, column {exc.colno})") from None
