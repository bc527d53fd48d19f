"""``custom``: a strategy class of your own, named in the YAML (upstream's ``custom_routers/``).

```yaml
router:
  strategy: custom
  class: my_routers:ShortFirst      # "module:Class" (or "module.Class")
  options: {threshold: 200}         # keyword arguments for the class
```

The contract is the :class:`~llmrouter.routing.base.Strategy` protocol: the class is built as
``Class(models=[names auto may pick], llms={name: LLMConfig}, **options)`` and has
``choose(request: RoutedRequest) -> str`` (``async def`` or plain ``def``), which returns one
of ``models``. The module is imported from the Python path, else from the config file's
folder. A name that cannot be imported or built stops the server with one line; a ``choose``
that raises or answers a name outside ``models`` sends the request to ``router.default`` (else
the first model) and logs a warning: routing never costs a client an answer.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmrouter.routing.request import RoutedRequest

if TYPE_CHECKING:
    from llmrouter.config import LLMConfig, OpenClawConfig

__all__ = ["CustomStrategy", "import_class", "load_custom"]

log = logging.getLogger("openclaw.routing")


def import_class(spec: str, search: Path | None = None) -> type:
    """The class ``spec`` ("module:Class" or "module.Class") names; ValueError in one line if none.

    ``search``: a folder to import the module from when the Python path does not have it.
    """
    module_name, sep, class_name = spec.partition(":")
    if not sep:
        module_name, _, class_name = spec.rpartition(".")
    if not module_name or not class_name:
        raise ValueError(f"router.class: '{spec}' is not \"module:ClassName\"")
    try:
        module = _import(module_name, search)
    except ImportError as exc:
        raise ValueError(f"router.class: cannot import module '{module_name}' ({exc}); is it on the Python path or beside the config?") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ValueError(f"router.class: module '{module_name}' has no class '{class_name}'")
    if not callable(getattr(cls, "choose", None)):
        raise ValueError(f"router.class: {spec} has no choose(request) method (see llmrouter.routing.base.Strategy)")
    return cls


def _import(module_name: str, search: Path | None) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if search is None or exc.name != module_name.split(".")[0]:
            raise
    sys.path.insert(0, str(search))
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(str(search))


class CustomStrategy:
    """Your class behind the router's seam: its answer checked, its failures contained."""

    def __init__(self, inner: Any, pool: Sequence[str], default: str) -> None:
        self.inner = inner
        self.names = list(pool)
        self.default = default
        self.name = str(getattr(inner, "name", None) or type(inner).__name__)

    async def choose(self, request: RoutedRequest) -> str:
        try:
            answer = self.inner.choose(request)
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:  # a user's bug must not fail the request
            return self._fallback(f"raised {type(exc).__name__}: {exc}")
        if answer not in self.names:
            return self._fallback(f"answered {answer!r}, not one of {', '.join(self.names)}")
        return answer

    def _fallback(self, why: str) -> str:
        log.warning("custom strategy %s %s; using %s", self.name, why, self.default)
        return self.default


def load_custom(config: OpenClawConfig, pool: Sequence[str], default: str) -> CustomStrategy:
    """The configured class, built and wrapped; ValueError (one line) when that fails."""
    spec = config.router.class_ or ""
    source = Path(config.source)
    cls = import_class(spec, source.parent if source.suffix else None)
    llms: Mapping[str, LLMConfig] = config.llms
    try:
        inner = cls(models=list(pool), llms=llms, **config.router.options)
    except Exception as exc:
        raise ValueError(f"router.class: {spec}(models=..., llms=..., **options) failed: {type(exc).__name__}: {exc}") from None
    return CustomStrategy(inner, pool, default)
