"""The gateway's Prometheus metrics and ``GET /metrics``.

One module-level set of metrics per process (prometheus_client registers each name once).
With several workers (``serve.workers``) every process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR``, which ``llmrouter serve`` creates before it starts them, and
``/metrics`` in any worker adds up all of them (prometheus_client's multiprocess mode), so a
scrape sees the instance, not whichever worker answered. The directory must be set before
prometheus_client is first imported: :mod:`openclaw_litellm.workers` does that.

Labels are bounded: ``model`` is a configured name (or ``none`` before one is known),
``status`` an HTTP status, ``kind`` and ``reason`` fixed words. No key, hashed or not.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "CONTENT_TYPE_LATEST",
    "COOLDOWN",
    "COST",
    "FALLBACKS",
    "REJECTIONS",
    "REQUESTS",
    "REQUEST_SECONDS",
    "RETRIES",
    "STREAMS",
    "TOKENS",
    "TTFT_SECONDS",
    "UPSTREAM_SECONDS",
    "exposition",
]

# Seconds, from a loopback stub (~1 ms) to a long reasoning answer.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

REQUESTS = Counter("llmrouter_requests", "Requests answered, by model and HTTP status.", ["model", "status"])
REQUEST_SECONDS = Histogram(
    "llmrouter_request_duration_seconds", "From the request's arrival to the answer's last byte.", ["model"], buckets=_BUCKETS,
)
TTFT_SECONDS = Histogram(
    "llmrouter_time_to_first_token_seconds", "Streams: from arrival to the first chunk with output.", ["model"], buckets=_BUCKETS,
)
UPSTREAM_SECONDS = Histogram(
    "llmrouter_upstream_latency_seconds", "One provider call, until its answer (streams: its first output) or failure.",
    ["model"], buckets=_BUCKETS,
)
TOKENS = Counter("llmrouter_tokens", "Tokens in answers' usage; kind: prompt, completion, cached.", ["model", "kind"])
COST = Counter("llmrouter_cost_usd", "US dollars of answers' usage at the configured prices.", ["model"])
FALLBACKS = Counter("llmrouter_fallbacks", "Requests that left a failing model for the next candidate.", ["model"])
RETRIES = Counter("llmrouter_retries", "Retries of a failing model (router.max_retries).", ["model"])
REJECTIONS = Counter("llmrouter_rate_limit_rejections", "Requests refused by a key's limits; reason: rpm, tpm, budget, model.", ["reason"])
# A gauge per model: 1 while in cooldown (sum() counts them). The highest value any live worker saw.
COOLDOWN = Gauge("llmrouter_model_in_cooldown", "1 while the model is in cooldown (tried last).", ["model"], multiprocess_mode="livemax")
STREAMS = Gauge("llmrouter_streams_in_flight", "Streamed answers being sent now.", multiprocess_mode="livesum")


def exposition() -> bytes:
    """The text a scrape gets: this process's metrics, or every worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
