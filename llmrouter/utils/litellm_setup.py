"""Import LiteLLM once, quietly and offline.

``import litellm`` takes seconds, so it happens only when a Bedrock call needs it (or in the
server's background warm-up). Before the import we pin LiteLLM to its bundled cost map, and
after it we turn off what would reach the network or slow the request path: Hugging Face
tokenizer downloads (LiteLLM fetches one for llama-named models to count tokens), telemetry,
logging callbacks and the debug banners it prints on every error.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

__all__ = ["load_litellm", "preload_litellm"]

_lock = threading.Lock()
_module: Any = None


def load_litellm() -> Any:
    """The configured ``litellm`` module (imported on first use; thread-safe)."""
    global _module
    if _module is not None:
        return _module
    with _lock:
        if _module is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_TELEMETRY", "False")
            import litellm

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            litellm.disable_hf_tokenizer_download = True
            litellm.disable_token_counter = True
            litellm.disable_streaming_logging = True
            litellm.turn_off_message_logging = True
            litellm.disable_add_user_agent_to_request_tags = True  # logging tags nobody reads
            litellm.drop_params = True  # a param Bedrock lacks is dropped, not an error
            litellm.num_retries = 0  # retries are ours: they must respect the catalog
            # httpx rather than aiohttp: one HTTP stack to record, replay and pool.
            litellm.disable_aiohttp_transport = True
            # LiteLLM logs every call at INFO through its own handler, and warns about its
            # internal logging worker when call_api runs a new event loop: keep errors only
            # (every failure reaches the user through our error catalog anyway).
            for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
                logging.getLogger(name).setLevel(logging.ERROR)
            _defer_default_encoding()
            # Per-model answers LiteLLM recomputes on every Bedrock call (see litellm_memo).
            from llmrouter.utils.litellm_memo import remember_supported_params

            remember_supported_params(litellm)
            _module = litellm
    return _module


def preload_litellm() -> None:
    """Import LiteLLM now, if it can be: callers that time calls (call_api, ``infer``) run this
    before their clocks start. A missing LiteLLM is reported by each Bedrock call instead."""
    try:
        load_litellm()
    except ImportError:
        pass


class _EncodingOnFirstUse:
    """A tokenizer that loads itself when something first uses it."""

    def __init__(self, load: Any) -> None:
        object.__setattr__(self, "_load", load)
        object.__setattr__(self, "_encoding", None)

    def __getattr__(self, name: str) -> Any:
        if self._encoding is None:
            object.__setattr__(self, "_encoding", self._load())
        return getattr(self._encoding, name)


def _defer_default_encoding() -> None:
    """``completion()`` hands every custom provider ``encoding=`` its default tokenizer, which
    it loads on first use (tiktoken's cl100k_base: +40 MB resident). Our Bedrock handler never
    reads it and token counting is off, so it is loaded only if something does use it.
    (LiteLLM has no setting for this; its lazy cache is filled with a lazy loader instead.)"""
    import litellm.main as main

    if getattr(main, "_encoding_cache", False) is None and hasattr(main, "_load_default_encoding"):
        main._encoding_cache = _EncodingOnFirstUse(main._load_default_encoding)
