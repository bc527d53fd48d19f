"""AWS Bedrock's Converse: parameters, region, and the two calls.

The calls go through :mod:`llmrouter.utils.converse_wire` (LiteLLM's Converse transformation
and event-stream decoder, botocore's SigV4, the pooled HTTP client), not a second
``litellm.acompletion``. Credentials come from boto3's standard chain (env vars, shared files
and profiles, SSO, instance roles). The region is resolved here, before the call, so that it
can be named in logs and error messages.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from llmrouter import errors
from llmrouter.bedrock_deps import missing_bedrock_dependency
from llmrouter.error_classify import classify
from llmrouter.providers import BEDROCK, BEDROCK_PARAMS
from llmrouter.prompt_cache import with_cache_points
from llmrouter.utils import converse_wire
from llmrouter.utils.chat_call import ChatCall
from llmrouter.utils.http_client import AsyncClient
from llmrouter.utils.litellm_setup import load_litellm
from llmrouter.utils.openai_shapes import normalize_chunk, normalize_completion

__all__ = ["achat", "astream", "history_tools", "litellm_kwargs", "resolve_region"]

log = logging.getLogger("llmrouter.bedrock")

def _require_dependencies() -> None:
    missing = missing_bedrock_dependency()
    if missing is not None:
        raise missing


def resolve_region(region: str | None, profile: str | None) -> str | None:
    """The explicit region, else AWS_REGION / AWS_DEFAULT_REGION, else the profile's region."""
    if region:
        return region
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(name):
            return os.environ[name]
    return _profile_region(profile, os.environ.get("AWS_CONFIG_FILE"))


@functools.lru_cache(maxsize=64)
def _profile_region(profile: str | None, config_file: str | None) -> str | None:
    """The profile's region from ~/.aws/config. Cached: reading the file on every request
    would block the server's event loop (``config_file`` is part of the key so that a
    different AWS_CONFIG_FILE is read afresh)."""
    try:
        import botocore.session

        return botocore.session.Session(profile=profile).get_config_variable("region")
    except Exception:  # a broken profile is reported by the call itself
        return None


def endpoint_url(call: ChatCall) -> str:
    """The bedrock-runtime endpoint a call goes to (the override, else the region's)."""
    return call.endpoint or f"https://bedrock-runtime.{call.region or 'us-east-1'}.amazonaws.com"


def history_tools(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Minimal tool definitions for the tools a conversation's history used.

    Bedrock refuses ``toolUse``/``toolResult`` blocks without a ``toolConfig`` ("The toolConfig
    field must be defined when using toolUse and toolResult content blocks."), and a client may
    well send a tool history without ``tools`` (a summary or a final turn). LiteLLM's own
    answers to that are to flatten the tool blocks into prose (its current default, which the
    model then tends to imitate) or to add a ``dummy_tool``; we keep the blocks as the client
    sent them and declare the tools they name, with an empty schema. Empty when there is no
    tool history.
    """
    names: dict[str, None] = {}  # ordered, unique
    for message in messages:
        for call in message.get("tool_calls") or ():
            name = (call.get("function") or {}).get("name")
            if name:
                names[name] = None
    return [
        {"type": "function", "function": {"name": name, "description": "A tool used earlier in this conversation; not offered now.",
                                          "parameters": {"type": "object", "properties": {}}}}
        for name in names
    ]


def _check_images(messages: list[dict[str, Any]], model_id: str) -> None:
    """Bedrock takes image and file bytes only; LiteLLM would download a URL itself, from the
    server (for a tool message, synchronously, on the event loop).

    That would be a request to any address a client names (the gateway's network included),
    so only inline ``data:`` URLs are accepted, for images and for files.
    """
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "image_url":
                image = part.get("image_url")
                urls = [image.get("url") if isinstance(image, dict) else image]
                what, example = "images", "data:image/png;base64,..."
            elif kind == "file":
                file = part.get("file") if isinstance(part.get("file"), dict) else {}
                urls = [file[key] for key in ("file_id", "file_data") if key in file] or [None]
                what, example = "files", "data:application/pdf;base64,..."
            else:
                continue
            if not all(isinstance(url, str) and url.startswith("data:") for url in urls):
                raise errors.bad_request(
                    f"messages[{i}]: Bedrock model '{model_id}' takes {what} inline only: send the bytes as a "
                    f"`{example}` URL (the gateway does not download {what} for Bedrock).",
                    param=f"messages.{i}.content",
                )


def litellm_kwargs(call: ChatCall, region: str) -> dict[str, Any]:
    """``litellm.acompletion`` keyword arguments for one Converse call."""
    kwargs: dict[str, Any] = {
        "model": f"bedrock/converse/{call.model_id}",
        "messages": call.messages,
        "aws_region_name": region,
        "timeout": call.timeout,
        "num_retries": 0,
    }
    if call.endpoint:
        kwargs["aws_bedrock_runtime_endpoint"] = call.endpoint
    if call.aws_profile:
        kwargs["aws_profile_name"] = call.aws_profile
    for key in BEDROCK_PARAMS:
        if call.params.get(key) is not None:
            kwargs[key] = call.params[key]
    if not kwargs.get("tools"):
        kwargs.pop("tool_choice", None)
        tools = history_tools(call.messages)
        if tools:
            kwargs["tools"] = tools
    # Cache points as OpenAI-style cache_control markers: LiteLLM's Converse transformation
    # turns each into a cachePoint block (system, content parts, tools), ttl included.
    kwargs["messages"], tools, plan = with_cache_points(
        call.messages, kwargs.get("tools"), call.model_id, mode=call.prompt_cache, ttl=call.prompt_cache_ttl
    )
    if tools:
        kwargs["tools"] = tools
    if call.prompt_cache == "on":  # LiteLLM drops points its model map says a model lacks
        kwargs["model_info"] = {"supports_prompt_caching": True}
    if plan.points or plan.dropped:
        log.debug("bedrock model=%s cache points=%d (%s) dropped=%d", call.model_id, plan.points, plan.source, plan.dropped)
    return kwargs


def _prepare(call: ChatCall) -> str:
    _check_images(call.messages, call.model_id)
    _require_dependencies()
    region = resolve_region(call.region, call.aws_profile)
    if not region:
        raise errors.region_missing(call.model_id)
    call.region = region
    try:
        load_litellm()  # LiteLLM's Converse transformation (converse_wire) needs it
    except ImportError:  # present but broken (find_spec saw it): same answer as missing
        raise errors.litellm_missing() from None
    return region


def _fail(exc: BaseException, call: ChatCall) -> errors.GatewayError:
    err = classify(
        exc, provider=BEDROCK, model_id=call.model_id, region=call.region, endpoint=endpoint_url(call), timeout_s=call.timeout
    )
    log.warning("bedrock model=%s region=%s failed: %s", call.model_id, call.region, err.code)
    return err


def _is_filler(chunk: dict[str, Any], first: bool) -> bool:
    """LiteLLM's wrapper may repeat an empty ``role`` delta after the finish: drop it."""
    if first or chunk.get("usage") or not chunk["choices"]:
        return False
    choice = chunk["choices"][0]
    delta = choice["delta"]
    return not delta.get("content") and not delta.get("tool_calls") and choice["finish_reason"] is None


async def achat(call: ChatCall, client: AsyncClient | None = None) -> dict[str, Any]:
    """One Converse call: an OpenAI ``chat.completion`` dict (``client``: the pooled one)."""
    region = _prepare(call)
    try:
        response = await converse_wire.complete(litellm_kwargs(call, region), client)
    except Exception as exc:
        raise _fail(exc, call) from None
    log.debug("bedrock model=%s region=%s ok", call.model_id, region)
    return normalize_completion(response, model=call.model_id)


async def astream(call: ChatCall, client: AsyncClient | None = None) -> AsyncIterator[dict[str, Any]]:
    """One ConverseStream call: OpenAI ``chat.completion.chunk`` dicts as they arrive."""
    region = _prepare(call)
    first = True
    try:
        async for chunk in converse_wire.stream(litellm_kwargs(call, region), client):
            out = normalize_chunk(chunk, model=call.model_id)
            if _is_filler(out, first):
                continue
            first = False
            yield out
    except errors.GatewayError:
        raise
    except Exception as exc:
        raise _fail(exc, call) from None
    log.debug("bedrock stream model=%s region=%s ok", call.model_id, region)
