"""Whether AWS Bedrock calls can run here: boto3/botocore (SigV4, credentials) and LiteLLM.

One check for the three places that need it: each Bedrock call (the catalog's error),
the server's startup warnings, and the warm-up's "Bedrock models are ready" line. Looking a
module up (``find_spec``) does not import it, so the check costs microseconds, not seconds.
"""

from __future__ import annotations

import importlib.util

from llmrouter import errors

__all__ = ["missing_bedrock_dependency"]


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # an import hook that hides it, or a broken install
        return True


def missing_bedrock_dependency() -> errors.GatewayError | None:
    """The catalog error for the first missing dependency of Bedrock calls, or None."""
    if _absent("boto3") or _absent("botocore"):
        return errors.boto3_missing()
    if _absent("litellm"):
        return errors.litellm_missing()
    return None
