"""``cost``: the cheapest model whose context window fits the request.

The estimate is deliberately cheap (it runs on every request, before any I/O):

- prompt tokens ~ characters / 4 over everything the model will read: every message's text,
  tool-call names and arguments, and the tools' names, descriptions and JSON schemas, plus 4
  tokens per message; a non-text content part (an image) counts 1,000 tokens;
- output tokens = the request's ``max_tokens`` (or ``max_completion_tokens``), else the
  model's configured ``max_tokens``, else 512;
- cost = prompt x ``input_price`` + output x ``output_price`` (any unit, the same for every
  model; a missing one of the two counts as 0; a model with neither is *unpriced* and ranks
  after every priced one).

A model fits when prompt + output <= its ``context_limit`` (no limit: assumed to fit). The
cheapest fitting model wins, ties going to the earlier one in the pool. If none fits, the
model with the largest ``context_limit`` serves: the best chance for an oversize request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import orjson

from llmrouter.config import LLMConfig
from llmrouter.routing.request import RoutedRequest

__all__ = ["Cheapest", "estimate_prompt_tokens"]

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_IMAGE = 1000
DEFAULT_OUTPUT_TOKENS = 512


def estimate_prompt_tokens(request: RoutedRequest) -> int:
    chars = 0
    tokens = 0
    for message in request.messages:
        tokens += TOKENS_PER_MESSAGE
        content = message.content
        if isinstance(content, str):
            chars += len(content)
        elif content:
            for part in content:
                if part.get("type") == "text":
                    chars += len(str(part.get("text") or ""))
                else:
                    tokens += TOKENS_PER_IMAGE
        for call in message.tool_calls or ():
            chars += len(call.function.name) + len(call.function.arguments)
    for tool in request.tools or ():
        fn = tool.function
        chars += len(fn.name) + len(fn.description or "")
        if fn.parameters:
            chars += len(orjson.dumps(fn.parameters))
    return tokens + math.ceil(chars / CHARS_PER_TOKEN)


class Cheapest:
    name = "cost"

    def __init__(self, pool: Sequence[str], llms: Mapping[str, LLMConfig]) -> None:
        self.models = [(name, llms[name]) for name in pool]
        self.largest = max(self.models, key=lambda m: m[1].context_limit or 0)[0]

    async def choose(self, request: RoutedRequest) -> str:
        prompt = estimate_prompt_tokens(request)
        asked = request.max_tokens or request.max_completion_tokens
        best: str | None = None
        best_key = (True, math.inf)
        for name, llm in self.models:
            output = asked or llm.max_tokens or DEFAULT_OUTPUT_TOKENS
            if llm.context_limit is not None and prompt + output > llm.context_limit:
                continue
            unpriced = llm.input_price is None and llm.output_price is None
            cost = 0.0 if unpriced else prompt * (llm.input_price or 0.0) + output * (llm.output_price or 0.0)
            key = (unpriced, cost)
            if best is None or key < best_key:
                best, best_key = name, key
        return best if best is not None else self.largest
