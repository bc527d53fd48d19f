"""The LiteLLM custom provider for AWS Bedrock.

``litellm.acompletion("openclaw-bedrock/<model id>", aws_region_name=..., api_base=...)``
lands here; the handler turns LiteLLM's arguments back into a call_api request and runs it
through :mod:`llmrouter.utils.api_calling`, the same code ``llmrouter infer`` and ``chat``
use, so the CLI and the server share Bedrock's parameters, retries and error catalog.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litellm import CustomLLM, ModelResponse

from llmrouter.utils import api_calling
from llmrouter.providers import BEDROCK, DEFAULT_TIMEOUT_S
from llmrouter.utils.chat_call import ChatCall, from_request

__all__ = ["BedrockHandler"]


def _call(model: str, messages: list, api_base: str | None, optional_params: dict, litellm_params: dict | None, timeout: Any) -> ChatCall:
    lp = litellm_params or {}
    seconds = timeout if isinstance(timeout, (int, float)) else getattr(timeout, "read", None) or DEFAULT_TIMEOUT_S
    request = {k: v for k, v in optional_params.items() if k not in ("stream", "stream_options")}
    request.update(
        service=BEDROCK,
        api_name=model,
        messages=messages,
        api_endpoint=api_base or None,
        aws_region=lp.get("aws_region_name"),
        aws_profile=lp.get("aws_profile_name"),
        timeout=float(seconds),
    )
    return from_request(request)


def _generic_chunks(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    """One OpenAI chunk dict as LiteLLM ``GenericStreamingChunk`` dicts (one per tool call)."""
    usage = chunk.get("usage")
    if not chunk["choices"]:
        return [{"text": "", "tool_use": None, "is_finished": True, "finish_reason": "", "usage": usage, "index": 0}]
    choice = chunk["choices"][0]
    delta = choice["delta"]
    finish = choice.get("finish_reason")
    base = {"text": delta.get("content") or "", "tool_use": None, "is_finished": finish is not None,
            "finish_reason": finish or "", "usage": usage, "index": choice.get("index", 0)}
    calls = delta.get("tool_calls") or []
    if not calls:
        return [base]
    out = []
    for i, call in enumerate(calls):
        item = dict(base) if i == 0 else {**base, "text": ""}
        fn = call.get("function") or {}
        item["tool_use"] = {
            "id": call.get("id"),
            "type": "function",
            "function": {"name": fn.get("name"), "arguments": fn.get("arguments") or ""},
            "index": call.get("index", i),
        }
        out.append(item)
    return out


class BedrockHandler(CustomLLM):
    """Bedrock via call_api's async core (non-stream) and its streaming sibling (stream)."""

    async def acompletion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: ModelResponse,
                          print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                          acompletion: Any = None, litellm_params: dict | None = None, logger_fn: Any = None,
                          headers: dict | None = None, timeout: Any = None, client: Any = None) -> ModelResponse:
        call = _call(model, messages, api_base, optional_params, litellm_params, timeout)
        completion = await api_calling.achat(call)
        return ModelResponse(**completion)

    async def astreaming(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: ModelResponse,
                         print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                         acompletion: Any = None, litellm_params: dict | None = None, logger_fn: Any = None,
                         headers: dict | None = None, timeout: Any = None, client: Any = None) -> AsyncIterator[dict[str, Any]]:
        call = _call(model, messages, api_base, optional_params, litellm_params, timeout)
        async for chunk in api_calling.astream_chat(call):
            for generic in _generic_chunks(chunk):
                yield generic
