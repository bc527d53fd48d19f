"""The gateway's own OpenAPI document as a schemathesis schema, for the fuzz and conformance tests.

``model`` is narrowed to the names given (configured models, plus any that should not exist):
with the document's free-form string, nearly every generated request would end at 404.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any


def gateway_document(models: list[str], paths: Iterable[str] = ("/v1/chat/completions",)) -> dict[str, Any]:
    """The OpenAPI document of a gateway whose llms are the names in ``models`` other than
    ``auto`` and ``no-such-model`` (each a stub on a closed port), ``model`` narrowed in ``paths``."""
    from llmrouter.config import OpenClawConfig
    from openclaw_litellm.app import create_app

    llms = {name: {"provider": "vllm", "model": "ok", "base_url": "http://127.0.0.1:9/v1"}
            for name in models if name not in ("auto", "no-such-model")}
    document = copy.deepcopy(create_app(OpenClawConfig.from_dict({"llms": llms})).openapi())
    for path in paths:
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        body["properties"]["model"] = {"type": "string", "enum": models}
    return document


def gateway_schema(models: list[str], *, max_examples: int, paths: Iterable[str] = ("/v1/chat/completions",)) -> Any:
    """:func:`gateway_document` as a schemathesis schema generating positive and negative cases."""
    import schemathesis
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_dict(gateway_document(models, paths))
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=max_examples)
    return schema
