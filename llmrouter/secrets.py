"""Secrets never leave the process: one registry of values to mask, one redaction function.

Every configured API key, and the AWS secret key / session token found in the environment,
is registered here. Error messages, log records and cassettes pass through :func:`redact`.
"""

from __future__ import annotations

import logging
import os
import re
import threading

__all__ = ["MASK", "install_log_redaction", "redact", "register_secret", "secret_values"]

MASK = "***"
_MIN_LEN = 6  # shorter values are too likely to match ordinary text
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Shapes that are secrets whoever owns them: bearer tokens, SigV4 headers, known key formats.
_SHAPES = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|(AWS4-HMAC-SHA256\s+)[^\"'\n]+"
    r"|(x-amz-security-token[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{16,}"
    r"|\b(?:sk|nvapi|sk-proj|sk-ant)-[A-Za-z0-9_-]{16,}"
)

_AWS_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_BEARER_TOKEN_BEDROCK")


def register_secret(value: str | None) -> None:
    """Remember a value that must never be printed."""
    global _pattern
    if not value or len(value) < _MIN_LEN:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _register_environment() -> None:
    for name in _AWS_ENV:
        register_secret(os.environ.get(name))


def secret_values() -> list[str]:
    """Every registered secret (and the AWS ones in the environment), longest first."""
    _register_environment()
    with _lock:
        return sorted(_secrets, key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential-shaped token masked."""
    if not text:
        return text
    _register_environment()
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _SHAPES.sub(lambda m: (m.group(1) or m.group(2) or m.group(3) or "") + MASK, text)


def _redact_record(record: logging.LogRecord) -> None:
    """Mask secrets in ``record`` in place: its message, traceback and stack.

    The arguments keep their shape when masking them one by one is enough (uvicorn's access
    formatter unpacks ``record.args``); otherwise the message is flattened to its masked text.
    """
    try:
        message = record.getMessage()
    except Exception:  # a bad format string is not ours to fix here
        message = None
    if message is not None and redact(message) != message:
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        try:
            masked = record.getMessage()
        except Exception:
            masked = message
        if redact(masked) != masked:  # a secret inside a non-string argument
            record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[1] is not None:
        # Tracebacks are rendered later by the formatter; render and mask them now.
        text = record.exc_text or logging.Formatter().formatException(record.exc_info)
        clean = redact(text)
        record.exc_text = clean
        if clean != text:
            record.exc_info = None  # nobody may render the unmasked one again
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_factory_installed = False


def install_log_redaction() -> None:
    """Mask secrets in every log record of the process, whichever logger and handler it takes.

    Records are masked where they are made (a ``LogRecord`` factory), not by a handler filter:
    uvicorn and LiteLLM log through handlers of their own (``propagate=False`` for uvicorn's),
    installed after this runs, and an application that embeds the gateway brings its own.
    Records are only made for enabled levels, so disabled DEBUG lines cost nothing. Idempotent.
    """
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def masked_record(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(masked_record)
        _factory_installed = True
