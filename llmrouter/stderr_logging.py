"""A log handler that writes to standard error as it is at the time of each line.

``logging.StreamHandler(sys.stderr)`` keeps the stream it was built with. A process that swaps
``sys.stderr`` (pytest's capture, an embedding application) then closes the old one leaves
that handler writing to a closed file, and a late line (the LiteLLM warm-up thread finishing
after the command that started it) prints a "Logging error" traceback instead of itself.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["StderrHandler"]


class StderrHandler(logging.StreamHandler):
    """``StreamHandler`` on whatever ``sys.stderr`` is when a record is written."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - a text stream
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:  # StreamHandler.__init__/setStream assign it: ignored
        pass
