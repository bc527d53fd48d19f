"""Did-you-mean for ``provider:`` names.

Any provider name that is not Bedrock means "an OpenAI-compatible server" (vllm, lmstudio,
my-proxy...), so a typo of a known name is not an error by itself: ``provider: bedroc`` would
become an OpenAI-compatible provider that "needs base_url", a hint that sends the user the
wrong way. The known names are the Bedrock spellings and the OpenAI-compatible providers whose
``base_url`` the config fills in (``DEFAULT_BASE_URLS`` in :mod:`llmrouter.config`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["BEDROCK_NAMES", "close_provider_name"]

# The ``provider:`` spellings of AWS Bedrock (any case): llmrouter.providers.is_bedrock.
BEDROCK_NAMES = ("bedrock", "aws")


def close_provider_name(name: str, openai_defaults: Iterable[str], *, bedrock_only: bool = False) -> str | None:
    """The known provider name ``name`` is probably a typo of, or None.

    ``bedrock_only``: consider only the Bedrock spellings (for a provider that has a
    ``base_url`` and so is a legitimate OpenAI-compatible name unless it is a Bedrock typo).
    """
    wanted = name.strip().lower()
    known = list(BEDROCK_NAMES) if bedrock_only else [*BEDROCK_NAMES, *openai_defaults]
    if not wanted or wanted in known:
        return None
    guess = difflib.get_close_matches(wanted, known, n=1, cutoff=0.8 if bedrock_only else 0.6)
    return guess[0] if guess else None
