"""Log lines go to standard error as it is when they are written, not as it was at setup.

A command sets logging up while pytest (or an embedding application) has swapped
``sys.stderr``; a thread it started (LiteLLM's warm-up) logs after that stream was closed.
The line must reach the current stderr, not turn into a "Logging error" traceback.
"""

from __future__ import annotations

import io
import logging
import sys

from llmrouter.stderr_logging import StderrHandler


def test_a_line_after_stderr_was_swapped_and_closed_reaches_the_new_stderr(monkeypatch):
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    handler = StderrHandler()
    logger = logging.getLogger("test.stderr_logging")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        monkeypatch.setattr(sys, "stderr", second)
        first.close()
        logger.warning("LiteLLM loaded; Bedrock models are ready")
    finally:
        logger.removeHandler(handler)
    assert second.getvalue() == "LiteLLM loaded; Bedrock models are ready\n"
