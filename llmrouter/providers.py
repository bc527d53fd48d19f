"""The provider vocabulary, in one place: the two kinds of provider, their names, the default
timeouts and the OpenAI request parameters passed on to a provider.

Every other module imports these instead of spelling them again, so that a new provider kind,
a changed default or a newly forwarded parameter is one edit here.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BEDROCK",
    "BEDROCK_PARAMS",
    "CALL_API_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "OPENAI",
    "OPENAI_COMPATIBLE",
    "OPENAI_PARAMS",
    "ProviderKind",
    "is_bedrock",
    "provider_kind",
    "provider_label",
]

# How a call goes out: AWS Bedrock through LiteLLM's Converse route, or any OpenAI-compatible
# endpoint (OpenAI, NVIDIA NIM, vLLM, Together...) by direct HTTP.
ProviderKind = Literal["bedrock", "openai"]
BEDROCK: ProviderKind = "bedrock"
OPENAI: ProviderKind = "openai"

# The provider as messages (the error catalog, the CLI) name it to a user.
OPENAI_COMPATIBLE = "OpenAI-compatible"
_LABELS: dict[str, str] = {BEDROCK: "bedrock", OPENAI: OPENAI_COMPATIBLE}

# The spellings of ``provider:`` (YAML) and ``service`` (call_api) that mean AWS Bedrock.
_BEDROCK_SPELLINGS = ("bedrock", "aws")

# Seconds one answer may take when nothing else says so: the server (``serve.timeout``), the
# ``chat`` command, the Bedrock handler when LiteLLM passes none, the pooled HTTP client.
DEFAULT_TIMEOUT_S = 60.0
# Seconds per call of the batch API (``call_api``) and of ``llmrouter infer``, which wraps it:
# a batch of short questions fails a stuck call sooner (the API's documented default).
CALL_API_TIMEOUT_S = 30.0

# OpenAI chat parameters a request may carry and a provider receives (unset ones left out).
# In the order of the server's request schema, so the JSON sent upstream keeps its key order.
OPENAI_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "seed",
    "response_format",
    "presence_penalty",
    "frequency_penalty",
    "reasoning_effort",
)
# The subset Bedrock's Converse route understands (LiteLLM maps them); the others are dropped.
BEDROCK_PARAMS = ("max_tokens", "temperature", "top_p", "stop", "tools", "tool_choice", "response_format", "reasoning_effort")
assert set(BEDROCK_PARAMS) <= set(OPENAI_PARAMS), "BEDROCK_PARAMS must be OpenAI parameters"


def is_bedrock(service: str | None) -> bool:
    """``bedrock`` and ``aws``, in any case and spacing, mean AWS Bedrock (config and call_api)."""
    return (service or "").strip().lower() in _BEDROCK_SPELLINGS


def provider_kind(service: str | None) -> ProviderKind:
    """The kind of provider a ``provider:`` / ``service`` value names: Bedrock, else OpenAI-compatible."""
    return BEDROCK if is_bedrock(service) else OPENAI


def provider_label(service: str | None) -> str:
    """The provider as the error catalog names it: ``bedrock`` or ``OpenAI-compatible``."""
    return _LABELS[provider_kind(service)]
