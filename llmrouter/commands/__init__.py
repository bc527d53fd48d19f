"""What ``llmrouter infer`` and ``llmrouter chat`` share: the chosen model, errors, logging.

Both commands load the same YAML as the server, pick one model under ``llms:`` and call it
through :mod:`llmrouter.utils.api_calling`. Every failure a user can cause or meet is printed
as one ``error: ...`` line on standard error (the error catalog's text, secrets masked), never
as a traceback. Exit codes: 0 success, 1 a call failed, 2 a usage or configuration problem.

Heavy modules (pydantic through the config, LiteLLM through a Bedrock call) are imported
inside functions: this package is imported only when a command actually runs.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmrouter.stderr_logging import StderrHandler

if TYPE_CHECKING:
    from llmrouter.config import LLMConfig, OpenClawConfig

__all__ = [
    "EXIT_FAILED",
    "EXIT_USAGE",
    "CommandError",
    "ModelChoice",
    "load_config",
    "model_choice",
    "print_error",
    "select_model",
    "setup_logging",
]

EXIT_FAILED = 1
EXIT_USAGE = 2

# Loggers whose warnings repeat, less clearly, the `error:` line the command prints itself.
_REPEATING_LOGGERS = ("llmrouter.bedrock", "llmrouter.openai_compat", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


class CommandError(Exception):
    """A problem to report as one ``error:`` line, with the exit code to return."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class ModelChoice:
    """The model a command talks to, and the call_api request that reaches it."""

    name: str
    llm: "LLMConfig"
    config: "OpenClawConfig"
    request: dict[str, Any]  # call_api request without the question (see provider_params)
    api_keys: tuple[str, ...]  # the configured keys, rotated by call_api; () for none

    def timeout(self, flag: float | None, default: float) -> float:
        """``--timeout`` when given, else the model's ``timeout`` in the YAML, else ``default``."""
        return flag if flag is not None else (self.llm.timeout or default)

    @property
    def api_keys_env(self) -> list[str] | None:
        """call_api's ``api_keys_env``: exactly the configured keys (an empty list means none:
        a key from the environment must never reach a base URL it was not configured for)."""
        return list(self.api_keys)

    def describe(self) -> str:
        """``name (model id, where)`` for banners: the region or base URL in use."""
        if self.llm.is_bedrock:
            where = f"AWS Bedrock, region {self.llm.aws_region or 'from the AWS default chain'}"
        else:
            where = self.llm.base_url or "?"
        return f"{self.name} ({self.llm.model}, {where})"


def print_error(message: str) -> None:
    """One ``error: ...`` line on standard error, with every known secret masked."""
    from llmrouter.secrets import redact

    print(f"error: {redact(message)}", file=sys.stderr, flush=True)


def setup_logging() -> None:
    """Warnings on standard error, secrets masked, and no line that repeats our own errors."""
    from llmrouter.secrets import install_log_redaction

    root = logging.getLogger()
    if not root.handlers:
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    install_log_redaction()
    for name in _REPEATING_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def load_config(config_path: str) -> "OpenClawConfig":
    """The YAML config, or :class:`CommandError` (exit code 2) with the file and key."""
    from llmrouter.config import ConfigError, OpenClawConfig

    try:
        return OpenClawConfig.from_yaml(config_path)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


def model_choice(config: "OpenClawConfig", name: str) -> ModelChoice:
    """The :class:`ModelChoice` for ``name`` under ``llms:`` (CommandError for another name)."""
    from llmrouter import provider_params

    if name not in config.llms:
        raise CommandError(
            f"no model named '{name}' in {config.source}; available: {', '.join(config.llms)} "
            "(pick one with --model NAME)"
        )
    llm = config.llms[name]
    provider_params.register_config_secrets(config)  # no key of the file is ever printed
    from llmrouter.errors import GatewayError

    try:
        keys = tuple(provider_params.api_keys_for(llm, config, name))
    except GatewayError as err:  # a key reading an unset variable: "set VAR"
        raise CommandError(err.message, EXIT_FAILED) from None
    return ModelChoice(name, llm, config, provider_params.call_request(name, llm, config), keys)


def select_model(config_path: str, model: str | None) -> ModelChoice:
    """Load the YAML and pick ``model`` (default: the first under ``llms:``).

    Raises :class:`CommandError` (exit code 2) for an invalid config or an unknown name.
    """
    config = load_config(config_path)
    return model_choice(config, model or next(iter(config.llms)))
