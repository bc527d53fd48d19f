"""What the gateway says at startup about models that cannot answer yet, and why.

The server starts whatever this finds (the other models work); each problem is one warning
that says how to fix it:

- what loading the config mapped or ignored (upstream keys, ``memory:``, ``media:``);
- a key variable (``${VAR}``) that is not set: one warning per variable, naming the models
  that need it (they answer "set VAR" until it is set);
- an OpenAI-compatible model that needs a key and has none (``api_key_env`` unset...);
- a Bedrock model whose dependencies (boto3, LiteLLM) are missing.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from llmrouter import errors
from llmrouter.bedrock_deps import missing_bedrock_dependency
from llmrouter.config import LLMConfig, OpenClawConfig
from llmrouter.key_vars import unset_vars
from llmrouter.provider_params import api_keys_for, unset_key_vars

__all__ = ["LOCAL_PROVIDERS", "log_startup_warnings", "needs_key", "startup_warnings"]

# Providers upstream treats as local servers, which `auth_mode: auto` sends no key to.
LOCAL_PROVIDERS = frozenset({"sglang", "vllm", "llama.cpp", "llama_cpp", "lmstudio", "lm_studio", "huggingface_cli", "ollama"})


def _is_local(llm: LLMConfig) -> bool:
    if llm.local is not None:
        return llm.local
    if llm.provider.strip().lower() in LOCAL_PROVIDERS:
        return True
    host = urlsplit(llm.base_url or "").hostname or ""
    if host in ("localhost", "0.0.0.0"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def needs_key(llm: LLMConfig) -> bool:
    """Whether an OpenAI-compatible model must have a key: ``bearer``, or ``auto`` off this host."""
    if llm.is_bedrock or llm.auth_mode == "none":
        return False
    return llm.auth_mode == "bearer" or not _is_local(llm)


def startup_warnings(config: OpenClawConfig) -> list[str]:
    """Every warning for ``config``, each once, in a stable order (under ``--replay``, none
    about provider keys: recordings answer without them)."""
    from llmrouter.recording import replay_active

    replaying = replay_active()
    warnings = list(config.notices)
    unset: dict[str, list[str]] = {}  # variable -> models that need it
    bedrock_missing: errors.GatewayError | None = None
    models = list(config.llms.items())
    if config.router.router_llm is not None:
        models.append(("router (the `llm` strategy's router model)", config.router.router_llm))
    for name, llm in models:
        if llm.is_bedrock:
            bedrock_missing = bedrock_missing or missing_bedrock_dependency()
            if bedrock_missing is not None:
                warnings.append(f"model {name}: cannot answer: {bedrock_missing.message}")
            continue
        if replaying:  # recordings answer without keys: warning about them would mislead
            continue
        missing = unset_key_vars(llm, config)
        for variable in missing:
            unset.setdefault(variable, []).append(name)
        if not missing and not api_keys_for(llm, config, name) and needs_key(llm):
            warnings.append(f"model {name}: {_no_key(llm)}")
    for variable, names in unset.items():
        warnings.append(
            f"environment variable {variable} is not set: model{'s' if len(names) > 1 else ''} {', '.join(names)} "
            f"need{'' if len(names) > 1 else 's'} it and answer \"set {variable}\" until it is set (export {variable}=... and restart)"
        )
    if not replaying:
        warnings += _unused_unset(config, set(unset))
    return warnings


def _no_key(llm: LLMConfig) -> str:
    if llm.api_key_env:
        where = f"`api_key_env: {llm.api_key_env}`, which is not set"
    else:
        where = f"no `api_key`, `api_key_env` or `api_keys.{llm.provider}`"
    return (
        f"has {where}: its requests go out without a key and {llm.base_url} will likely refuse them. "
        f"Set the key (or `auth_mode: none` if this server needs none)"
    )


def _unused_unset(config: OpenClawConfig, named: set[str]) -> list[str]:
    """``api_keys`` entries reading unset variables that no model uses (upstream's examples have some)."""
    out = []
    for provider, value in config.api_keys.items():
        for variable in dict.fromkeys(v for item in ([value] if isinstance(value, str) else value) for v in unset_vars(item)):
            if variable not in named:
                out.append(f"api_keys.{provider}: environment variable {variable} is not set (no model uses this key; ignored)")
    return out


def log_startup_warnings(config: OpenClawConfig, log: logging.Logger) -> list[str]:
    """Log :func:`startup_warnings` (one WARNING each) and return them."""
    warnings = startup_warnings(config)
    for warning in warnings:
        log.warning("%s: %s", config.source, warning)
    return warnings
