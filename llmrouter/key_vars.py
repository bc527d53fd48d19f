"""API keys that read environment variables: which are unset, and their value once set.

The config keeps a key whose ``${VAR}`` was unset at load time as written
(:func:`llmrouter.config_upstream.keeps_unset`), so that one missing key does not stop the
server: its models warn at startup and answer "set VAR" until it is set. Only keys go
through here; an unset variable anywhere else stops the server.
"""

from __future__ import annotations

import os
import re

__all__ = ["VAR_REFERENCE", "expand", "unset_vars"]

# ${VAR} and ${VAR:-default}: the one syntax, also the config loader's.
VAR_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def unset_vars(value: str) -> list[str]:
    """The variables ``value`` reads that are unset or empty now (without a default)."""
    if "${" not in value:
        return []
    return [m.group(1) for m in VAR_REFERENCE.finditer(value) if m.group(2) is None and not os.environ.get(m.group(1))]


def expand(value: str) -> str:
    """``value`` with every variable replaced by its current value (unset ones by "")."""
    if "${" not in value:
        return value
    return VAR_REFERENCE.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), value)
