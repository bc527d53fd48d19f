"""A config validation problem as the one line a user reads: ``file: key.path: message``.

pydantic reports every problem with its location and internal tags; the user needs the first
one, named by the key path they wrote, with a did-you-mean for a misspelt key.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ValidationError

__all__ = ["describe"]


def describe(exc: ValidationError, source: str) -> str:
    """The first validation problem as ``file: key.path: message`` (with a did-you-mean)."""
    # `serve.api_keys` entries are `str | ApiKeyEntry`: for a mapping, report the object's
    # problem (`rpm` misspelt...), not that it is not a string; and drop the union's tags.
    found = exc.errors()
    err = next((e for e in found if "str" not in e["loc"][2:4]), found[0]) if len(found) > 1 else found[0]
    loc = [str(p) for p in err["loc"] if p not in ("ApiKeyEntry",)]
    if loc[:2] == ["serve", "api_keys"] and loc[3:4] == ["str"]:
        loc = loc[:3]
    # The inline router model (config_upstream) is written as router.provider/model/... in the file.
    where = ".".join(loc).replace("router.router_llm", "router") or "(top level)"
    if err["type"] == "extra_forbidden":
        parent_model = _model_at(loc[:-1])
        known = list(parent_model.model_fields) if parent_model else []
        if parent_model is not None and parent_model.__name__ == "OpenClawConfig":
            known = [k for k in known if k != "source"] + ["models"]
        guess = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else f"; known keys: {', '.join(sorted(known))}"
        return f"{source}: {where}: unknown key{hint}"
    message = err["msg"].removeprefix("Value error, ")
    if loc[:2] == ["serve", "api_keys"] and len(loc) == 3:
        message = "must be a key (a string) or {key, rpm, tpm, budget_usd, budget_period, models}"
    if not loc:  # cross-reference checks name their own key path (router.default: ...)
        return f"{source}: {message}"
    return f"{source}: {where}: {message}"


def _model_at(loc: list[str]) -> type[BaseModel] | None:
    """The pydantic model that holds the keys at ``loc`` (for did-you-mean suggestions)."""
    # Imported here: llmrouter.config imports this module, and this runs only on a bad config.
    from llmrouter.config import ApiKeyEntry, LLMConfig, OpenClawConfig, RouterConfig, RoutingRule, ServeConfig
    from llmrouter.state import StateConfig

    if not loc:
        return OpenClawConfig
    head = loc[0]
    if head == "serve":
        if len(loc) == 3 and loc[1] == "api_keys":
            return ApiKeyEntry
        return ServeConfig
    if head == "state":
        return StateConfig
    if head == "router":
        if len(loc) == 3 and loc[1] == "rules":
            return RoutingRule
        return RouterConfig if len(loc) == 1 else None
    if head in ("llms", "models") and len(loc) == 2:
        return LLMConfig
    return None
