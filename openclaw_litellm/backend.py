"""``LLMBackend``: complete or stream one chat request against one configured model.

The provider seam: two implementations behind ``complete`` / ``stream``.

- OpenAI-compatible models go by direct HTTP (:mod:`llmrouter.utils.api_calling` with the
  pooled client of :attr:`LLMBackend.client`): no LiteLLM on the fast path.
- Bedrock models go through ``litellm.acompletion`` with our custom provider
  (:mod:`openclaw_litellm.bedrock_handler`), which calls the same api_calling core on the
  same pooled client.

Both return OpenAI dicts: a ``chat.completion``, or ``chat.completion.chunk`` dicts.

The HTTP client is handed in (``LLMBackend(config, client=...)``: the caller owns and closes
it; tests hand one over an ``httpx2.MockTransport``), or else the backend opens its own on
first use and :meth:`LLMBackend.aclose` (the app's lifespan) closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llmrouter import errors
from llmrouter.utils import api_calling
from llmrouter.utils.http_client import AsyncClient, pooled_client
from llmrouter.utils.openai_shapes import normalize_chunk, normalize_completion
from llmrouter.config import LLMConfig, OpenClawConfig
from llmrouter.providers import BEDROCK
from openclaw_litellm.litellm_warmup import LiteLLMWarmup
from llmrouter.provider_params import chat_call, litellm_params

__all__ = ["LLMBackend"]


class LLMBackend:
    def __init__(self, config: OpenClawConfig, warmup: LiteLLMWarmup | None = None, client: AsyncClient | None = None) -> None:
        self.config = config
        self.warmup = warmup or LiteLLMWarmup()
        self.timeout = config.serve.timeout
        self._client = client
        self._owns_client = client is None

    @property
    def client(self) -> AsyncClient:
        """The pooled client for every upstream call: the one handed in, else the backend's own.

        Bedrock calls get it through ``litellm.acompletion(..., client=...)``. The backend's own
        is opened on first use, not at startup, so the server answers ``/health`` sooner.
        """
        if self._client is None:
            self._client = pooled_client()
        return self._client

    async def aclose(self) -> None:
        """Close the client the backend opened itself (one handed in is its owner's to close)."""
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    @property
    def has_bedrock(self) -> bool:
        return any(llm.is_bedrock for llm in self.config.llms.values())

    async def complete(self, llm: LLMConfig, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI ``chat.completion`` dict (usage included)."""
        if not llm.is_bedrock:
            return await api_calling.achat(chat_call(llm, self.config, messages, params, self.timeout), client=self.client)
        litellm = await self._litellm(llm, messages)
        try:
            response = await litellm.acompletion(messages=messages, client=self.client, **params, **litellm_params(llm, self.timeout))
        except Exception as exc:
            raise self._bedrock_error(exc, llm) from None
        return normalize_completion(response)

    async def stream(self, llm: LLMConfig, messages: list[dict[str, Any]], params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """``chat.completion.chunk`` dicts as the provider produces them (usage included)."""
        if not llm.is_bedrock:
            call = chat_call(llm, self.config, messages, params, self.timeout)
            async for chunk in api_calling.astream_chat(call, client=self.client):
                yield chunk
            return
        litellm = await self._litellm(llm, messages)
        try:
            stream = await litellm.acompletion(
                messages=messages, stream=True, stream_options={"include_usage": True}, client=self.client,
                **params, **litellm_params(llm, self.timeout),
            )
            async for chunk in stream:
                yield normalize_chunk(chunk)
        except Exception as exc:
            raise self._bedrock_error(exc, llm) from None

    async def _litellm(self, llm: LLMConfig, messages: list[dict[str, Any]]) -> Any:
        try:
            litellm = await self.warmup.ready()
        except ModuleNotFoundError as exc:
            raise errors.classify(exc, provider=BEDROCK, model_id=llm.model, region=llm.aws_region) from None
        # LiteLLM's own check of the client's messages, run here so that its plain Exception is
        # the client's 400, not an upstream failure that is retried and cools the model down.
        validate = litellm.utils.validate_chat_completion_user_messages
        try:
            validate(messages)
        except Exception as exc:
            raise errors.bad_request(f"messages: {exc}", param="messages") from None
        return litellm

    def _bedrock_error(self, exc: BaseException, llm: LLMConfig) -> errors.GatewayError:
        """LiteLLM re-wraps what our handler raised; find the catalog error inside."""
        inner = errors.find_cause(exc, lambda e: isinstance(e, errors.GatewayError))
        if isinstance(inner, errors.GatewayError):
            return inner
        return errors.classify(exc, provider=BEDROCK, model_id=llm.model, region=llm.aws_region, endpoint=llm.base_url or "", timeout_s=llm.timeout or self.timeout)
