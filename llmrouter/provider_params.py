"""The one place that turns a configured model (``LLMConfig``) into provider parameters.

Pure functions, no I/O and no heavy imports, shared by the server and the CLI:

- :func:`call_request`: the ``call_api`` request dict (``llmrouter infer`` / ``chat``);
- :func:`chat_call`: the normalized :class:`ChatCall` (through the same ``call_api`` request);
- :func:`litellm_params`: ``litellm.acompletion`` arguments for the Bedrock custom provider.
"""

from __future__ import annotations

import os
from typing import Any

from llmrouter.config import LLMConfig, OpenClawConfig
from llmrouter.providers import BEDROCK
from llmrouter.secrets import register_secret
from llmrouter.utils.chat_call import ChatCall, from_request

__all__ = ["BEDROCK_CUSTOM_PROVIDER", "api_keys_for", "call_request", "chat_call", "litellm_params", "register_config_secrets"]

# The LiteLLM provider name under which our Bedrock CustomLLM handler is registered.
BEDROCK_CUSTOM_PROVIDER = "openclaw-bedrock"


def api_keys_for(llm: LLMConfig, config: OpenClawConfig) -> tuple[str, ...]:
    """The model's own key, else the env var it names, else the provider's ``api_keys``."""
    keys: tuple[str, ...] = ()
    if llm.api_key:
        keys = (llm.api_key,)
    elif llm.api_key_env and os.environ.get(llm.api_key_env):
        keys = (os.environ[llm.api_key_env],)
    else:
        shared = config.api_keys.get(llm.provider) or config.api_keys.get(llm.provider.lower())
        if isinstance(shared, str):
            keys = (shared,) if shared else ()
        elif shared:
            keys = tuple(k for k in shared if k)
    for key in keys:
        register_secret(key)
    return keys


def register_config_secrets(config: OpenClawConfig) -> None:
    """Register every key the config holds or names, before anything can log or record it."""
    for llm in config.llms.values():
        api_keys_for(llm, config)
    for key in config.serve.key_secrets:
        register_secret(key)
    for value in config.api_keys.values():
        for key in [value] if isinstance(value, str) else value:
            register_secret(key)


def call_request(name: str, llm: LLMConfig, config: OpenClawConfig) -> dict[str, Any]:
    """A ``call_api`` request dict for this model (without the question).

    API keys are not in it: pass ``api_keys_for(llm, config)`` as call_api's ``api_keys_env``
    so that several keys rotate.
    """
    request: dict[str, Any] = {
        "model_name": name,
        "api_name": llm.model,
        "service": BEDROCK if llm.is_bedrock else llm.provider,
        "api_endpoint": llm.base_url,
    }
    if llm.is_bedrock:
        request["aws_region"] = llm.aws_region
        if llm.aws_profile:
            request["aws_profile"] = llm.aws_profile
    return request


def chat_call(llm: LLMConfig, config: OpenClawConfig, messages: list[dict[str, Any]], params: dict[str, Any], timeout: float) -> ChatCall:
    """The call for ``messages`` to this model, with ``params`` (OpenAI parameters) as given.

    It goes through :func:`call_request` and :func:`~llmrouter.utils.chat_call.from_request`,
    the path the CLI takes, so the server and the CLI build a call alike.
    """
    request = call_request(llm.model, llm, config)
    request.update(params)
    request["messages"] = messages
    return from_request(request, api_keys=api_keys_for(llm, config), timeout=llm.timeout or timeout)


def litellm_params(llm: LLMConfig, timeout: float) -> dict[str, Any]:
    """``litellm.acompletion`` arguments that route a Bedrock model to our custom handler."""
    params: dict[str, Any] = {
        "model": f"{BEDROCK_CUSTOM_PROVIDER}/{llm.model}",
        "timeout": llm.timeout or timeout,
        # LiteLLM drops what it thinks a custom provider lacks; the handler's inner Converse
        # call maps reasoning_effort (to thinking, for the models that have it) or drops it.
        "allowed_openai_params": ["reasoning_effort"],
    }
    if llm.aws_region:
        params["aws_region_name"] = llm.aws_region
    if llm.base_url:
        params["api_base"] = llm.base_url
    if llm.aws_profile:
        params["aws_profile_name"] = llm.aws_profile
    return params
