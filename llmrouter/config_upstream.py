"""Configs written for the original OpenClaw Router (LLMRouter) and its Bedrock fork load here.

:func:`adapt` maps the keys upstream documents onto this project's schema *before*
validation, so that an existing YAML starts unchanged and means what it meant:

- the ``llm`` strategy's router model written inline (``router.provider``, ``base_url``,
  ``model``, ``api_key``/``api_key_env``, ``auth_mode``, ``chat_path``, ``local``) becomes
  ``router.router_llm``, a model that is not served under ``llms`` itself;
- a ``rules`` entry ``{default: NAME}`` (upstream's last rule) becomes ``router.default``;
- ``provider_type: openai_compatible`` (upstream's only type) is accepted and dropped;
- ``memory:`` and ``media:`` (not implemented here) are dropped with one notice each;
- ``router.llmrouter: {...}`` without ``strategy: llmrouter`` is dropped with a notice;
  ``strategy: llmrouter`` itself is a one-line error that says what to run instead;
- a Bedrock ``base_url`` on the control-plane host is mapped to ``bedrock-runtime``.

Unknown keys no upstream version ever had are left in place: validation still stops the
server on them with a did-you-mean. The notices are logged once at startup
(:mod:`llmrouter.startup_checks`).
"""

from __future__ import annotations

import copy
from typing import Any

from llmrouter import bedrock_endpoints, providers

__all__ = ["INLINE_ROUTER_KEYS", "adapt", "keeps_unset"]

# router.* keys upstream reads for the `llm` strategy's router model.
INLINE_ROUTER_KEYS = ("provider", "base_url", "model", "api_key", "api_key_env", "auth_mode", "chat_path", "local", "provider_type")
_LLMROUTER_KEYS = ("llmrouter", "name", "config_path", "model_path")
_PROVIDER_TYPES = ("openai_compatible", "openai-compatible", "openai")
_IGNORED_SECTIONS = {
    "memory": "upstream's routing memory, past routing decisions recalled by the `llm` strategy",
    "media": "upstream's media understanding, image/audio/video described through Together AI",
}
TRAIN_HINT = (
    "train a router with `llmrouter train --scores SCORES.jsonl --llms LLMS.json --out routers/NAME`, "
    "then set `router: {strategy: trained, path: routers/NAME}` (see docs/routing.md)"
)


class UpstreamConfigError(ValueError):
    """An upstream key that cannot be honoured; the message is one line, without the file name."""


def keeps_unset(path: tuple[str, ...]) -> bool:
    """Whether an unset ``${VAR}`` at ``path`` is tolerated (a key: its models warn and fail
    with "set VAR" until it is set), rather than stopping the server."""
    if len(path) >= 2 and path[0] == "api_keys":
        return True
    if len(path) == 3 and path[0] in ("llms", "models") and path[2] == "api_key":
        return True
    return path[:2] == ("router", "router_llm") and path[-1:] == ("api_key",)


def adapt(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with upstream keys mapped onto ours, and the startup notices that says so.

    Raises :class:`UpstreamConfigError` for an upstream feature with no equivalent here.
    """
    data = copy.copy(raw)
    notices: list[str] = []
    for section, what in _IGNORED_SECTIONS.items():
        if section in data:
            value = data.pop(section)
            enabled = isinstance(value, dict) and value.get("enabled") in (True, "true", "yes", "on", 1)
            state = "enabled: true, but" if enabled else "disabled, and"
            notices.append(f"`{section}:` ({what}) is not implemented by this gateway: {state} the whole section is ignored")
    if isinstance(data.get("router"), dict):
        data["router"] = _adapt_router(dict(data["router"]), notices)
    for key in ("llms", "models"):
        if isinstance(data.get(key), dict):
            data[key] = {name: _adapt_llm(f"{key}.{name}", llm, notices) for name, llm in data[key].items()}
    return data, notices


def _adapt_router(router: dict[str, Any], notices: list[str]) -> dict[str, Any]:
    strategy = router.get("strategy")
    if strategy == "llmrouter":
        spec = router.get("llmrouter") if isinstance(router.get("llmrouter"), dict) else {}
        name = spec.get("name") or router.get("name") or "?"
        raise UpstreamConfigError(
            f"router.strategy: `llmrouter` (LLMRouter's ML router '{name}') is not supported by this gateway; {TRAIN_HINT}"
        )
    found = [k for k in _LLMROUTER_KEYS if k in router]
    if found:
        for key in found:
            router.pop(key)
        notices.append(f"router.{found[0]}: settings for upstream's `llmrouter` strategy are ignored (strategy is `{strategy}`)")
    inline = {k: router.pop(k) for k in INLINE_ROUTER_KEYS if k in router}
    if inline:
        if strategy != "llm":
            notices.append(f"router.{next(iter(inline))}: the inline router model is used by strategy `llm` only; ignored")
        else:
            inline = _adapt_llm("router", inline, notices)
            inline.setdefault("description", "the `llm` strategy's router model")
            router["router_llm"] = inline
    rules = router.get("rules")
    if isinstance(rules, list):
        kept = []
        for rule in rules:
            if isinstance(rule, dict) and set(rule) == {"default"}:
                router.setdefault("default", rule["default"])
            else:
                kept.append(rule)
        router["rules"] = kept
    return router


def _adapt_llm(where: str, llm: Any, notices: list[str]) -> Any:
    if not isinstance(llm, dict):
        return llm
    llm = dict(llm)
    if "provider_type" in llm:
        kind = str(llm.pop("provider_type")).strip().lower()
        if kind not in _PROVIDER_TYPES:
            raise UpstreamConfigError(
                f"{where}.provider_type: '{kind}' is not a provider type (upstream has `openai_compatible` only; "
                "for AWS Bedrock write `provider: bedrock`)"
            )
    if providers.is_bedrock(str(llm.get("provider") or "")) and isinstance(llm.get("base_url"), str):
        mapped = bedrock_endpoints.runtime_url(llm["base_url"])
        if mapped != llm["base_url"]:
            region = bedrock_endpoints.region_of(mapped)
            configured = llm.get("aws_region")
            if configured and region and configured != region:
                raise UpstreamConfigError(
                    f"{where}.base_url: {llm['base_url']} is Bedrock's control-plane host in {region}, "
                    f"but aws_region is {configured}; remove base_url (or use https://bedrock-runtime.{configured}.amazonaws.com)"
                )
            notices.append(
                f"{where}.base_url: {llm['base_url']} is Bedrock's control-plane host; "
                f"chat requests go to the runtime endpoint {mapped}"
            )
            llm["base_url"] = mapped
            if region and not configured:
                llm["aws_region"] = region
    return llm
