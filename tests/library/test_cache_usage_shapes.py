"""Usage says what was cached: Bedrock's own counts, LiteLLM's, an OpenAI-compatible provider's."""

from __future__ import annotations

from llmrouter.utils.openai_shapes import normalize_usage, usage_cache_counts
from openclaw_litellm.responses_events import responses_usage


def test_bedrock_input_tokens_exclude_cache_reads_and_writes() -> None:
    # the metadata event of the recorded ConverseStream (dd-trace-py), second call
    usage = {"cacheReadInputTokenCount": 1028, "cacheReadInputTokens": 1028, "cacheWriteInputTokenCount": 0,
             "cacheWriteInputTokens": 0, "inputTokens": 12, "outputTokens": 250, "totalTokens": 1290}
    assert normalize_usage(usage) == {"prompt_tokens": 1040, "completion_tokens": 250, "total_tokens": 1290,
                                      "prompt_tokens_details": {"cached_tokens": 1028, "cache_write_tokens": 0}}
    # only the undocumented *Count names
    assert usage_cache_counts(normalize_usage({"inputTokens": 2, "outputTokens": 5, "cacheWriteInputTokenCount": 1322})) == (0, 1322)


def test_litellms_usage_object_keeps_both_counts() -> None:
    from litellm import Usage

    usage = Usage(prompt_tokens=1324, completion_tokens=5, total_tokens=1329, cache_creation_input_tokens=1322,
                  cache_read_input_tokens=0, prompt_tokens_details={"cached_tokens": 0, "cache_creation_tokens": 1322})
    assert normalize_usage(usage) == {"prompt_tokens": 1324, "completion_tokens": 5, "total_tokens": 1329,
                                      "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 1322}}


def test_an_openai_compatible_providers_details_come_back_as_sent() -> None:
    openai = {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
              "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0}}
    assert normalize_usage(openai) == openai
    plain = {"prompt_tokens": 12, "completion_tokens": 24, "total_tokens": 36}
    assert normalize_usage(plain) == plain  # nothing invented


def test_responses_usage_reports_cached_input() -> None:
    usage = responses_usage({"prompt_tokens": 1040, "completion_tokens": 250, "total_tokens": 1290,
                             "prompt_tokens_details": {"cached_tokens": 1028, "cache_write_tokens": 0}})
    assert usage["input_tokens"] == 1040 and usage["input_tokens_details"] == {"cached_tokens": 1028, "cache_write_tokens": 0}
    assert responses_usage({"prompt_tokens": 5, "completion_tokens": 1})["input_tokens_details"] == {"cached_tokens": 0}
