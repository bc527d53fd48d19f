"""Remember what LiteLLM recomputes for every Bedrock call although it depends only on the model.

``AmazonConverseConfig.get_supported_openai_params(model)`` answers from the model id and
LiteLLM's cost map alone, but LiteLLM calls it twice per Converse call (parameter mapping,
then the request transformation), and each call runs a dozen model-map lookups and
capability scans: ~1 ms of CPU per request, a sixth of what the Bedrock path costs.

The answer is kept per (class, model id, cost-map generation): LiteLLM bumps the generation
whenever its cost map changes (``register_model``, a map reload), so a registration made
afterwards is seen at once. Each caller gets its own copy of the list, as before. LiteLLM
has no setting for this; when a LiteLLM version lacks the generation counter, nothing is
remembered and every call goes to LiteLLM as before.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

__all__ = ["remember_supported_params"]

_lock = threading.Lock()


def remember_supported_params(litellm: Any) -> bool:
    """Wrap ``AmazonConverseConfig.get_supported_openai_params`` once; False if it cannot be."""
    from litellm.llms.bedrock.chat.converse_transformation import AmazonConverseConfig

    generation = getattr(litellm.utils, "get_model_cost_mutation_generation", None)
    original = AmazonConverseConfig.get_supported_openai_params
    if generation is None or getattr(original, "__openclaw_memo__", False):
        return False
    answers: dict[tuple[type, str, int], tuple[str, ...]] = {}

    @functools.wraps(original)
    def get_supported_openai_params(self: Any, model: str) -> list[str]:
        key = (type(self), model, generation())
        known = answers.get(key)
        if known is None:
            known = tuple(original(self, model))
            with _lock:
                if len(answers) > 4096:  # model ids come from configs and requests: bounded anyway
                    answers.clear()
                answers[key] = known
        return list(known)

    get_supported_openai_params.__openclaw_memo__ = True  # type: ignore[attr-defined]
    AmazonConverseConfig.get_supported_openai_params = get_supported_openai_params  # type: ignore[method-assign]
    return True
