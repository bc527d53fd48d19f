"""Secrets never leave the process: one registry of values to mask, one redaction function.

Every configured API key, and the AWS secret key / session token found in the environment,
is registered here. Error messages, log records and cassettes pass through :func:`redact`.
"""

from __future__ import annotations

import logging
import os
import re
import threading

__all__ = ["MASK", "RedactingFilter", "install_log_redaction", "redact", "register_secret", "secret_values"]

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


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the final message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is not ours to fix here
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are rendered later by the formatter; render and scrub them now.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_log_redaction() -> None:
    """Attach the filter to every handler of the root logger (and future ones via root)."""
    root = logging.getLogger()
    flt = RedactingFilter()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
