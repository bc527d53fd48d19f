"""The one place that turns a configured model (``LLMConfig``) into provider parameters.

Pure functions, no I/O and no heavy imports, shared by the server and the CLI:

- :func:`call_request`: the ``call_api`` request dict (``llmrouter infer`` / ``chat``);
- :func:`chat_call`: the normalized :class:`ChatCall` (through the same ``call_api`` request);
- :func:`litellm_params`: ``litellm.acompletion`` arguments for the Bedrock custom provider.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from llmrouter import errors
from llmrouter.config import LLMConfig, OpenClawConfig
from llmrouter.key_vars import expand, unset_vars
from llmrouter.providers import BEDROCK
from llmrouter.secrets import register_secret
from llmrouter.utils.chat_call import ChatCall, from_request

__all__ = ["BEDROCK_CUSTOM_PROVIDER", "api_keys_for", "configured_keys", "unset_key_vars", "call_request", "chat_call", "litellm_params", "register_config_secrets"]

# The LiteLLM provider name under which our Bedrock CustomLLM handler is registered.
BEDROCK_CUSTOM_PROVIDER = "openclaw-bedrock"


def configured_keys(llm: LLMConfig, config: OpenClawConfig) -> tuple[tuple[str, ...], str]:
    """The key values as configured (``${VAR}`` text when VAR was unset) and where they are:
    the model's own key, else the env var it names, else the provider's ``api_keys``."""
    if llm.is_bedrock or llm.auth_mode == "none":
        return (), ""
    if llm.api_key:
        return (llm.api_key,), "llms.{}.api_key"
    if llm.api_key_env and os.environ.get(llm.api_key_env):
        return (os.environ[llm.api_key_env],), f"api_key_env: {llm.api_key_env}"
    provider = llm.provider if llm.provider in config.api_keys else llm.provider.lower()
    shared = config.api_keys.get(provider)
    return ((shared,) if isinstance(shared, str) else tuple(shared or ())), f"api_keys.{provider}"


def unset_key_vars(llm: LLMConfig, config: OpenClawConfig) -> list[str]:
    """The unset variables that leave this model without any key (empty when it has one)."""
    values, _ = configured_keys(llm, config)
    if any(v and not unset_vars(v) for v in values):
        return []
    return list(dict.fromkeys(var for v in values if v for var in unset_vars(v)))


def api_keys_for(llm: LLMConfig, config: OpenClawConfig, name: str | None = None) -> tuple[str, ...]:
    """The keys this model rotates over (:func:`configured_keys`, with variables read now).

    None for ``auth_mode: none`` and for Bedrock (SigV4). A key that reads a variable unset
    at startup raises the catalog's ``provider_key_unset`` ("set VAR") until it is set.
    """
    values, key_path = configured_keys(llm, config)
    keys = tuple(expand(v) for v in values if v and not unset_vars(v))
    if not keys and values:
        missing = unset_key_vars(llm, config)
        if missing:
            # Named only now: finding the model's name is a scan, and this is the rare path.
            label = name or next((n for n, configured in config.llms.items() if configured is llm), llm.model)
            raise errors.provider_key_unset(missing[0], label, key_path.format(label))
    for key in keys:
        register_secret(key)
    return keys


def register_config_secrets(config: OpenClawConfig) -> None:
    """Register every key the config holds or names, before anything can log or record it.

    A key still reading an unset variable is its ``${VAR}`` text, not a secret (and the
    startup warning names that variable).
    """
    models = [*config.llms.items(), *([("router", config.router.router_llm)] if config.router.router_llm else [])]
    for name, llm in models:
        with contextlib.suppress(errors.GatewayError):
            api_keys_for(llm, config, name)
    for key in config.serve.key_secrets:
        register_secret(key)
    for value in config.api_keys.values():
        for key in [value] if isinstance(value, str) else value:
            if not unset_vars(key):
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
    if not llm.is_bedrock and llm.chat_path != "/chat/completions":
        request["chat_path"] = llm.chat_path
    if llm.is_bedrock:
        request["aws_region"] = llm.aws_region
        if llm.aws_profile:
            request["aws_profile"] = llm.aws_profile
        request["prompt_cache"] = llm.prompt_cache
        request["prompt_cache_ttl"] = llm.prompt_cache_ttl
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
    # The handler reads the model's prompt-cache settings back from LiteLLM's metadata.
    params["metadata"] = {"prompt_cache": llm.prompt_cache, "prompt_cache_ttl": llm.prompt_cache_ttl}
    return params
