"""One Converse / ConverseStream call on the pooled HTTP client, with LiteLLM's own shapes.

``litellm.acompletion("bedrock/converse/...")`` would run LiteLLM's whole request pipeline
(its logging object, callbacks, cost calculation, a thread-pool hop, a ``CustomStreamWrapper``
per stream) for a call that LiteLLM's custom provider has already been through once. Here
only the parts that know Bedrock run, taken from LiteLLM itself:

- the message checks ``completion()`` runs first (its validation and repair, a copy so that
  a retry or a fallback sends the caller's messages unchanged, ``developer`` -> ``system``);
- the OpenAI parameters -> Converse mapping (``get_optional_params``, as ``acompletion``
  calls it) and the request body (``AmazonConverseConfig``'s transformation);
- the endpoint (``get_runtime_endpoint``: region, partition, ``AWS_BEDROCK_RUNTIME_ENDPOINT``)
  and the model id's URL encoding;
- the answer (``AmazonConverseConfig._transform_response``) and the event stream
  (``AWSEventStreamDecoder``: botocore's ``EventStreamBuffer`` and parser underneath);
- ``BedrockError`` for a non-200 answer, which the error catalog already classifies.

SigV4 is botocore's (:mod:`llmrouter.utils.aws_signing`); the bytes go through the pooled
httpx2 client (:mod:`llmrouter.utils.http_client`), which vcrpy records and replays.

The input is the ``litellm.acompletion`` keyword arguments that
:func:`llmrouter.utils.bedrock_converse.litellm_kwargs` builds, so whatever that function
adds to a call (parameters, tools, cache markers) reaches Bedrock the same way.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import orjson

from llmrouter import errors
from llmrouter.utils.aws_signing import auth_headers
from llmrouter.utils.http_client import AsyncClient, borrowed_or_own
from llmrouter.utils.litellm_setup import load_litellm
from llmrouter.utils.openai_shapes import normalize_chunk

__all__ = ["CANNED_ANSWER", "ConverseRequest", "build_request", "complete", "stream", "warm_up"]

_PREFIX = "bedrock/converse/"
# acompletion's own keys; everything else in the kwargs is an OpenAI parameter.
_CALL_KEYS = {"model", "messages", "aws_region_name", "timeout", "num_retries", "aws_bedrock_runtime_endpoint",
              "aws_profile_name", "stream", "stream_options", "model_info"}
# What LiteLLM's Converse handler pops from the mapped parameters before the transformation.
_HANDLER_KEYS = ("stream", "model_id", "fake_stream")


@dataclass(frozen=True)
class ConverseRequest:
    """One prepared call: URL, JSON body, and what the answer's decoding needs."""

    url: str
    body: bytes
    model_id: str
    region: str
    profile: str | None
    timeout: float
    messages: list[Any]
    optional_params: dict[str, Any]
    json_mode: bool


@functools.lru_cache(maxsize=1)
def _litellm_parts() -> SimpleNamespace:
    """LiteLLM's Bedrock pieces, imported once (after :func:`load_litellm` configured LiteLLM)."""
    load_litellm()
    from litellm.litellm_core_utils.prompt_templates.common_utils import get_completion_messages
    from litellm.litellm_core_utils.url_utils import join_api_base
    from litellm.llms.bedrock.base_aws_llm import BaseAWSLLM
    from litellm.llms.bedrock.chat.converse_transformation import AmazonConverseConfig
    from litellm.llms.bedrock.chat.invoke_handler import AWSEventStreamDecoder
    from litellm.llms.bedrock.common_utils import BedrockError
    from litellm.utils import get_optional_params, validate_and_fix_openai_messages, validate_and_fix_openai_tools

    return SimpleNamespace(
        config=AmazonConverseConfig(),
        aws=BaseAWSLLM(),
        join=join_api_base,
        decoder=AWSEventStreamDecoder,
        error=BedrockError,
        optional_params=get_optional_params,
        fix_messages=validate_and_fix_openai_messages,
        fix_tools=validate_and_fix_openai_tools,
        copy_messages=get_completion_messages,
    )


def _messages(parts: SimpleNamespace, messages: list[dict[str, Any]], model_id: str) -> list[Any]:
    """The messages as ``completion()`` hands them to the Converse transformation."""
    copied = parts.copy_messages(messages=parts.fix_messages(messages=messages), ensure_alternating_roles=False,
                                    user_continue_message=None, assistant_continue_message=None)
    return list(parts.config.translate_developer_role_to_system_role(
        messages=copied, model=model_id, custom_llm_provider="bedrock", api_base=None, model_info=None))


async def build_request(kwargs: dict[str, Any], *, streaming: bool) -> ConverseRequest:
    """The signed-to-be request for ``litellm_kwargs(call, region)``: no network."""
    parts = _litellm_parts()
    model_id = kwargs["model"].removeprefix(_PREFIX)
    region = kwargs["aws_region_name"]
    # A deployment's model_info (say, supports_prompt_caching) reaches both steps, as in completion().
    model_info = kwargs.get("model_info")
    try:
        messages = _messages(parts, kwargs["messages"], model_id)
        openai_params = {k: v for k, v in kwargs.items() if k not in _CALL_KEYS}
        if openai_params.get("tools"):
            openai_params["tools"] = parts.fix_tools(tools=openai_params["tools"])
        optional_params = parts.optional_params(
            model=f"converse/{model_id}", custom_llm_provider="bedrock", messages=messages, drop_params=True,
            model_info=model_info, **openai_params,
        )
        for key in _HANDLER_KEYS:
            optional_params.pop(key, None)
        data = await parts.config._async_transform_request(
            model=model_id, messages=messages, optional_params=optional_params, headers={},
            litellm_params={"drop_params": True, **({"model_info": model_info} if model_info else {})},
        )
    except errors.GatewayError:
        raise
    except Exception as exc:
        # Nothing has been sent yet: what LiteLLM cannot turn into Converse is the request's own
        # shape (an unknown content part...). A 400, not a retryable 502 that cools the model.
        raise errors.bad_request(f"this request cannot be sent to Bedrock model '{model_id}': {exc}", param="messages") from None
    json_mode = optional_params.get("json_mode") is True
    base, _ = parts.aws.get_runtime_endpoint(
        api_base=None, aws_bedrock_runtime_endpoint=kwargs.get("aws_bedrock_runtime_endpoint"), aws_region_name=region
    )
    route = "converse-stream" if streaming else "converse"
    url = parts.join(base, f"model/{parts.aws.encode_model_id(model_id)}/{route}")
    return ConverseRequest(
        url=url, body=orjson.dumps(data), model_id=model_id, region=region, profile=kwargs.get("aws_profile_name"),
        timeout=float(kwargs["timeout"]), messages=messages, optional_params=optional_params, json_mode=json_mode,
    )


async def _send(client: AsyncClient, request: ConverseRequest) -> Any:
    headers = await auth_headers(request.url, request.body, region=request.region, profile=request.profile,
                                 model_id=request.model_id)
    built = client.build_request("POST", request.url, content=request.body, headers=headers, timeout=request.timeout)
    response = await client.send(built, stream=True)
    if response.status_code != 200:
        try:
            await response.aread()
        finally:
            await response.aclose()
        raise _litellm_parts().error(status_code=response.status_code, message=response.text,
                                        headers=dict(response.headers))
    return response


async def complete(kwargs: dict[str, Any], client: AsyncClient | None) -> Any:
    """One Converse call: LiteLLM's ``ModelResponse``."""
    from litellm import ModelResponse

    request = await build_request(kwargs, streaming=False)
    async with borrowed_or_own(client) as http:
        response = await _send(http, request)
        try:
            await response.aread()
        finally:
            await response.aclose()
    return _litellm_parts().config._transform_response(
        model=request.model_id, response=response, model_response=ModelResponse(), stream=False, logging_obj=None,
        optional_params=request.optional_params, api_key="", data=request.body.decode(), messages=request.messages,
        encoding=None, json_mode=request.json_mode,
    )


async def stream(kwargs: dict[str, Any], client: AsyncClient | None) -> AsyncIterator[dict[str, Any]]:
    """One ConverseStream call: OpenAI ``chat.completion.chunk`` dicts as events arrive."""
    request = await build_request(kwargs, streaming=True)
    async with borrowed_or_own(client) as http:
        response = await _send(http, request)
        try:
            decoder = _litellm_parts().decoder(model=request.model_id, json_mode=request.json_mode)
            first = True
            async for event in decoder.aiter_bytes(response.aiter_bytes(), response_headers=response.headers):
                chunk = _openai_chunk(event, request.model_id, first)
                if chunk is not None:
                    first = False
                    yield chunk
        finally:
            await response.aclose()


def _openai_chunk(event: Any, model_id: str, first: bool) -> dict[str, Any] | None:
    """The decoder's chunk in the shape LiteLLM's stream wrapper gave it; None for no news.

    The decoder turns every Converse event into a chunk: ``messageStart`` into an empty
    generic chunk, ``contentBlockStop`` into an empty delta, and each delta repeats
    ``role`` and an empty ``content``. OpenAI clients see the role once, no empty deltas,
    and the usage in a chunk of its own with no choices.
    """
    if isinstance(event, dict):  # a GenericStreamingChunk: only messageStart on this route
        return None
    chunk = normalize_chunk(event, model=model_id)
    for choice in chunk["choices"]:
        delta = choice["delta"]
        if not first:
            delta.pop("role", None)
        if delta.get("content") == "" and not delta.get("tool_calls"):
            del delta["content"]
    news = [c for c in chunk["choices"] if c["finish_reason"] is not None or set(c["delta"]) - {"role"}]
    if chunk.get("usage") is not None and not news:
        chunk["choices"] = []
        return chunk
    return chunk if news else None



async def _no_bytes() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator with nothing in it


async def _decode_nothing(decoder: Any) -> None:
    """Run the decoder over an empty body: it loads the event types it knows, then (rightly)
    complains that no event came."""
    try:
        async for _ in decoder.aiter_bytes(_no_bytes(), response_headers={}):
            pass
    except Exception:  # BedrockError: "decoded to no events"
        pass


# A Converse answer, for warming up without a network (see :func:`warm_up`).
CANNED_ANSWER = {"output": {"message": {"role": "assistant", "content": [{"text": "-"}]}}, "stopReason": "end_turn",
                 "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}, "metrics": {"latencyMs": 1}}


def warm_up() -> None:
    """LiteLLM's and botocore's first-use costs on the streaming side, with no network.

    A ConverseStream needs botocore's bedrock-runtime service model (the event-stream
    shapes, the slowest thing to load on first use), the decoder's pydantic event models,
    and anyio's asyncio backend (httpcore2's locks). The server's warm-up thread calls this,
    and sends one non-streamed call through a canned transport for the rest
    (:mod:`openclaw_litellm.litellm_warmup`). Blocking; call it from a thread.
    """
    import asyncio

    import anyio

    from llmrouter.utils.http_client import tls_context

    model_id = "amazon.nova-lite-v1:0"
    kwargs = {"model": f"{_PREFIX}{model_id}", "aws_region_name": "us-east-1", "timeout": 1.0,
              "messages": [{"role": "user", "content": "-"}]}
    asyncio.run(build_request(kwargs, streaming=True))
    asyncio.run(anyio.sleep(0))
    decoder = _litellm_parts().decoder(model=model_id)
    decoder._response_stream_shape()
    asyncio.run(_decode_nothing(decoder))
    for event in ({"role": "assistant"}, {"contentBlockIndex": 0, "delta": {"text": "-"}}, {"contentBlockIndex": 0},
                  {"stopReason": "end_turn"}, {"usage": CANNED_ANSWER["usage"], "metrics": CANNED_ANSWER["metrics"]}):
        _openai_chunk(decoder.chunk_parser(chunk_data=event), model_id, first=True)
    tls_context()  # the pooled client's trust store, which a Bedrock-only server loads on its first call
