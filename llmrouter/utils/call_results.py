"""The result dicts of the original call_api: the request echoed, the answer or the error added.

Added keys: ``response``, ``prompt_tokens``, ``completion_tokens``, ``token_num``,
``response_time``, ``tool_calls`` when the model called tools and, on failure, ``error`` (the
catalog's actionable message) and ``error_code``. ``llmrouter infer`` writes the same shape for
lines it could not even send.
"""

from __future__ import annotations

from typing import Any

from llmrouter import errors
from llmrouter.utils.openai_shapes import completion_text

__all__ = ["failure_result", "success_result"]


def failure_result(err: errors.GatewayError, echo: dict[str, Any], response_time: float = 0.0) -> dict[str, Any]:
    """``echo`` with the failure added (its own keys of the same names are replaced)."""
    return {
        **echo,
        "response": f"ERROR: {err.message}",
        "error": err.message,
        "error_code": err.code,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "token_num": 0,
        "response_time": response_time,
    }


def success_result(completion: dict[str, Any], echo: dict[str, Any], response_time: float) -> dict[str, Any]:
    """``echo`` with the answer of an OpenAI ``chat.completion`` dict added."""
    usage = completion["usage"]
    out = {
        **echo,
        "response": completion_text(completion),
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "token_num": usage["total_tokens"],
        "response_time": response_time,
    }
    tool_calls = completion["choices"][0]["message"].get("tool_calls") if completion["choices"] else None
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out
