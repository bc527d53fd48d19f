"""The gateway's YAML configuration: loading, ``${VAR}`` interpolation and validation.

One loader serves ``llmrouter serve``, ``infer`` and ``chat``. Every problem is reported as a
:class:`ConfigError` whose one-line message names the file and the key path
(``configs/x.yaml: llms.claude.aws_region: ...``), never as a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llmrouter import config_upstream, providers
from llmrouter.aws_regions import check_region
from llmrouter.config_messages import describe
from llmrouter.key_vars import VAR_REFERENCE
from llmrouter.limits import ApiKeyEntry
from llmrouter.prompt_cache import CacheTTL, PromptCacheMode
from llmrouter.provider_names import BEDROCK_NAMES, close_provider_name
from llmrouter.state import StateConfig
from llmrouter.yaml_loading import DuplicateKeyError, load_yaml

if TYPE_CHECKING:
    from llmrouter.limits import GatewayKey

__all__ = [
    "ApiKeyEntry",
    "ConfigError",
    "LLMConfig",
    "OpenClawConfig",
    "ROUTER_STRATEGIES",
    "RouterConfig",
    "RoutingRule",
    "ServeConfig",
    "StateConfig",
]


# Well-known OpenAI-compatible providers, so a YAML may name the provider and skip base_url.
DEFAULT_BASE_URLS = {
    "nvidia": "https://integrate.api.nvidia.com/v1",
    "openai": "https://api.openai.com/v1",
    "together": "https://api.together.xyz/v1",
    "anthropic": "https://api.anthropic.com/v1",
}

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


class ConfigError(ValueError):
    """A configuration problem, with the file and key path in its message."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ServeConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    show_model_prefix: bool = False
    # Seconds an upstream call may take before the catalog's timeout error.
    timeout: float = Field(providers.DEFAULT_TIMEOUT_S, gt=0)
    # Largest accepted request body, in bytes (OpenClaw's first request is ~36 KB).
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0)
    # Keys clients must present (Bearer or x-api-key); empty: no authentication. Each entry a
    # string, or {key, rpm, tpm, budget_usd, budget_period, models} (docs/deploy.md).
    api_keys: list[str | ApiKeyEntry] = Field(default_factory=list)
    # GET /metrics needs a gateway key like the API (when api_keys is set); false: open to scrapers.
    metrics_auth: bool = True
    # text: uvicorn-style lines; json: one JSON object per line, an access line per request.
    log_format: Literal["text", "json"] = "text"
    # SIGTERM: seconds requests and streams in flight may take to finish before the exit.
    drain_timeout: float = Field(30.0, ge=0)
    # Processes serving this port (share state through state.redis_url).
    workers: int = Field(1, ge=1, le=64)
    # always: every stream ends with a usage chunk (`choices: []`), asked for or not;
    # requested: only when the client sends stream_options.include_usage. Default always:
    # OpenClaw asks only at local hosts and records no usage (no cost) elsewhere, while
    # OpenAI's SDKs and OpenClaw consume an unrequested usage chunk correctly.
    usage_chunk: Literal["always", "requested"] = "always"

    @field_validator("api_keys")
    @classmethod
    def _no_blank_key(cls, value: list[str | ApiKeyEntry]) -> list[str | ApiKeyEntry]:
        # An empty entry (often `${VAR:-}` with VAR unset) must not silently turn auth off.
        for i, entry in enumerate(value):
            key = entry.key if isinstance(entry, ApiKeyEntry) else entry
            if not key.strip():
                raise ValueError(f"key {i} is empty (is the environment variable it reads set?); refusing to start without authentication")
        return value

    def gateway_keys(self) -> list["GatewayKey"]:
        """The keys as the gateway checks them (:class:`llmrouter.limits.GatewayKey`)."""
        from llmrouter.limits import GatewayKey

        keys = []
        for entry in self.api_keys:
            if isinstance(entry, str):
                keys.append(GatewayKey.of(entry))
            else:
                keys.append(GatewayKey.of(entry.key, rpm=entry.rpm, tpm=entry.tpm, budget_usd=entry.budget_usd,
                                          budget_period=entry.budget_period, models=entry.models))
        return keys

    @property
    def key_secrets(self) -> list[str]:
        """Every configured key in clear, for the log redaction and nothing else."""
        return [entry if isinstance(entry, str) else entry.key for entry in self.api_keys]


# Names ``router.strategy`` accepts; llmrouter.routing implements one class per name.
ROUTER_STRATEGIES = ("first", "random", "round_robin", "rules", "llm", "cost", "trained", "custom")


class RoutingRule(_Strict):
    """One ``rules`` entry: if any keyword appears in the last user message, use ``model``."""

    keywords: list[str] = Field(min_length=1)
    model: str

    @field_validator("keywords")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        if any(not k.strip() for k in value):
            raise ValueError("keywords must be non-empty strings")
        return value


class RouterConfig(_Strict):
    """``router:``: how ``model: "auto"`` picks a model, and what happens when one fails.

    Each strategy's keys are documented in docs/routing.md. Keys another strategy uses are
    accepted and ignored, so switching strategies is a one-line edit.
    """

    strategy: str = "first"
    # The models `auto` chooses from, in order (default: every model under `llms`).
    models: list[str] | None = None
    # random: an integer weight per model name; unlisted models weigh 1, 0 never picks one.
    weights: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # rules: the first rule with a keyword in the last user message picks the model.
    rules: list[RoutingRule] = Field(default_factory=list)
    # rules / llm: the model when no rule matches or the router model fails (default: the first of `models`).
    default: str | None = None
    # llm: the model that chooses among the others' descriptions, and how long it may take.
    router_model: str | None = None
    timeout: float = Field(5.0, gt=0)
    # trained: the router directory `llmrouter train` wrote (relative to the working directory),
    # and the cost/quality knob (0 = best predicted quality; default: the router's own).
    path: str | None = None
    cost_weight: float | None = Field(None, ge=0)

    # Failures: the chosen model, then these, in order (an explicit model name too).
    fallback_models: list[str] = Field(default_factory=list)
    # Retries per model for retryable failures (throttling, 5xx, timeouts), before falling back.
    # 0 by default: OpenAI SDK clients already retry, and the fallbacks take over at once.
    max_retries: int = Field(0, ge=0, le=10)
    # First backoff in seconds, doubled per retry (jittered, at most 8 s); never below Retry-After.
    retry_backoff: float = Field(0.25, ge=0)
    # Seconds one request may spend on attempts, retries and waits before its first byte.
    deadline: float = Field(120.0, gt=0)
    # A model with `cooldown_after` consecutive retryable failures is tried last for `cooldown` s.
    cooldown: float = Field(30.0, ge=0)
    cooldown_after: int = Field(3, ge=1)
    # llm: the router model written inline, as upstream configs do (router.provider/base_url/model).
    router_llm: "LLMConfig | None" = None
    # custom: "package.module:ClassName" of a class implementing llmrouter.routing.base.Strategy
    # (docs/routing.md), built with the pool, the models and `options` as keyword arguments.
    class_: str | None = Field(None, alias="class")
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in ROUTER_STRATEGIES:
            guess = difflib.get_close_matches(value.lower().replace("-", "_"), ROUTER_STRATEGIES, n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            raise ValueError(f"unknown strategy '{value}'; {hint}(known: {', '.join(ROUTER_STRATEGIES)})")
        return value

    @model_validator(mode="after")
    def _strategy_needs(self) -> "RouterConfig":
        if self.strategy == "llm" and not (self.router_model or self.router_llm):
            raise ValueError(
                "strategy `llm` needs `router_model`: the name of the model that chooses (under `llms`), "
                "or the router model inline (`provider`, `base_url`, `model`)"
            )
        if self.strategy == "custom" and not self.class_:
            raise ValueError("strategy `custom` needs `class`: \"package.module:ClassName\" (see docs/routing.md)")
        if self.strategy == "rules" and not self.rules:
            raise ValueError("strategy `rules` needs `rules`: a list of {keywords: [...], model: name}")
        if self.strategy == "trained" and not self.path:
            raise ValueError("strategy `trained` needs `path`: a router directory written by `llmrouter train`")
        return self

    def pool(self, names: list[str]) -> list[str]:
        """The models ``auto`` may choose from."""
        return list(self.models) if self.models else list(names)

    def check_references(self, names: list[str]) -> None:
        """Every model this section names exists under ``llms``; ValueError naming the key if not."""
        known = set(names)
        if "auto" in known:
            raise ValueError("llms.auto: `auto` is reserved for routing; give that model another name")

        def check(where: str, name: str) -> None:
            if name not in known:
                guess = difflib.get_close_matches(name, names, n=1)
                hint = f"; did you mean '{guess[0]}'?" if guess else f" (known: {', '.join(names)})"
                raise ValueError(f"{where}: '{name}' is not a model under `llms`{hint}")

        for i, name in enumerate(self.fallback_models):
            check(f"router.fallback_models.{i}", name)
        for i, name in enumerate(self.models or []):
            check(f"router.models.{i}", name)
        for name in self.weights:
            check(f"router.weights.{name}", name)
        for i, rule in enumerate(self.rules):
            check(f"router.rules.{i}.model", rule.model)
        if self.default is not None:
            check("router.default", self.default)
        if self.router_model is not None:
            check("router.router_model", self.router_model)
        if self.strategy == "random" and not any(self.weights.get(n, 1) for n in self.pool(names)):
            raise ValueError("router.weights: every model weighs 0, so `random` could pick none")


class LLMConfig(_Strict):
    """One model the gateway can serve, under the name clients use for it."""

    provider: str = "openai"
    model: str = Field("", description="the provider's model id")
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    aws_region: str | None = None  # None: the AWS default chain (AWS_REGION, profile, ...)
    aws_profile: str | None = None
    description: str = ""
    input_price: float | None = Field(None, ge=0)
    output_price: float | None = Field(None, ge=0)
    # USD per 1M tokens read from / written to the prompt cache; unset: 0.1x and 1.25x the input
    # price (2x with prompt_cache_ttl 1h), Anthropic's and Bedrock's rates for Claude.
    cache_read_price: float | None = Field(None, ge=0)
    cache_write_price: float | None = Field(None, ge=0)
    # Bedrock prompt caching (llmrouter/prompt_cache.py, docs/bedrock.md): `auto` caches on the
    # models that can (automatic cache points unless the client marks its own), `off` never,
    # `on` forces it for a model the table does not know (an application inference profile).
    prompt_cache: PromptCacheMode = "auto"
    prompt_cache_ttl: CacheTTL = "5m"  # of automatic points; 1h where the model has it
    max_tokens: int | None = Field(None, gt=0)
    context_limit: int | None = Field(None, gt=0)
    timeout: float | None = Field(None, gt=0)
    # OpenAI-compatible only, as upstream: `auto` sends a configured key (a local server needs
    # none), `bearer` requires one, `none` never sends one; the path after base_url; whether
    # the server is local (default: a loopback base_url), which `auto` needs no key for.
    auth_mode: Literal["auto", "bearer", "none"] = "auto"
    chat_path: str = "/chat/completions"
    local: bool | None = None

    @property
    def is_bedrock(self) -> bool:
        return providers.is_bedrock(self.provider)

    @property
    def provider_label(self) -> str:
        """The provider as the error catalog names it: ``bedrock`` or ``OpenAI-compatible``."""
        return providers.provider_label(self.provider)

    @field_validator("aws_region")
    @classmethod
    def _region_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _REGION.match(value):
            raise ValueError(f"'{value}' is not an AWS region name (expected something like us-east-1)")
        return check_region(value)  # botocore's own list of regions, with a did-you-mean

    @model_validator(mode="after")
    def _provider_needs(self) -> "LLMConfig":
        if not self.model:
            raise ValueError("needs `model`: the provider's model id (for Bedrock e.g. amazon.nova-lite-v1:0)")
        typo = close_provider_name(self.provider, DEFAULT_BASE_URLS, bedrock_only=bool(self.base_url))
        if not self.is_bedrock and typo:
            raise ValueError(
                f"provider '{self.provider}' is unknown; did you mean '{typo}'? (known: {', '.join([*BEDROCK_NAMES, *DEFAULT_BASE_URLS])}; "
                "any other name is an OpenAI-compatible server and needs `base_url`)"
            )
        if not self.is_bedrock and not self.base_url:
            default = DEFAULT_BASE_URLS.get(self.provider.strip().lower())
            if default is None:
                raise ValueError(
                    f"provider '{self.provider}' is {providers.OPENAI_COMPATIBLE} and needs `base_url` "
                    "(for example http://127.0.0.1:8001/v1)"
                )
            self.base_url = default
        return self


RouterConfig.model_rebuild()  # router_llm names LLMConfig, defined after it


class OpenClawConfig(_Strict):
    serve: ServeConfig = Field(default_factory=ServeConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    router: RouterConfig = Field(default_factory=RouterConfig)
    api_keys: dict[str, str | list[str]] = Field(default_factory=dict)
    llms: dict[str, LLMConfig] = Field(default_factory=dict, alias="models")
    source: str = Field("<memory>", exclude=True)
    # What loading said about upstream keys it mapped or ignored (logged once at startup).
    notices: list[str] = Field(default_factory=list, exclude=True)

    @model_validator(mode="after")
    def _references(self) -> "OpenClawConfig":
        if not self.llms:
            raise ValueError("`llms` (or `models`) must name at least one model")
        self.router.check_references(list(self.llms))
        names = list(self.llms)
        for i, entry in enumerate(self.serve.api_keys):
            for name in getattr(entry, "models", None) or ():
                if name != "auto" and name not in self.llms:
                    guess = difflib.get_close_matches(name, names, n=1)
                    hint = f"; did you mean '{guess[0]}'?" if guess else f" (known: auto, {', '.join(names)})"
                    raise ValueError(f"serve.api_keys.{i}.models: '{name}' is not a model under `llms`{hint}")
        return self

    # --- loading ----------------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> "OpenClawConfig":
        import yaml

        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{file}: cannot read the config file: {exc.strerror or exc}") from None
        try:
            raw = load_yaml(text)  # yaml.safe_load, but a key written twice is an error
        except DuplicateKeyError as exc:
            raise ConfigError(f"{file}: {exc.key_path}: {exc.problem}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{file}: invalid YAML{where}: {problem}") from None
        return cls.from_dict(raw or {}, source=str(file))

    @classmethod
    def from_dict(cls, raw: Any, source: str = "<memory>") -> "OpenClawConfig":
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: the top level must be a mapping with `llms:`")
        try:
            raw, notices = config_upstream.adapt(raw)
        except config_upstream.UpstreamConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        data = _interpolate(raw, source, ())
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(describe(exc, source)) from None
        config.source = source
        config.notices = notices
        return config


def _interpolate(node: Any, source: str, path: tuple[str, ...]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string; unset VAR is an error,
    except in API keys (:func:`config_upstream.keeps_unset`), where it stays as written."""
    if isinstance(node, dict):
        return {k: _interpolate(v, source, (*path, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, source, (*path, str(i))) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is not None and found != "":
            return found
        if default is not None:
            return default
        if config_upstream.keeps_unset(path):
            return match.group(0)
        raise ConfigError(
            f"{source}: {'.'.join(path)}: environment variable {name} is not set "
            f"(export it, or write ${{{name}:-default}})"
        )

    return VAR_REFERENCE.sub(value, node)
