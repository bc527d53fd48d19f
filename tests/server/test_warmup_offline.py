"""The Bedrock warm-up call: it runs, it needs no network, and ``--record`` never records it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from llmrouter.recording import recording
from openclaw_litellm.litellm_warmup import LiteLLMWarmup


def test_the_warm_up_call_runs_offline_and_is_never_recorded(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    cassettes = tmp_path / "cassettes"
    caplog.set_level(logging.DEBUG, logger="openclaw.warmup")
    with recording(record_dir=str(cassettes)):  # vcrpy patches every httpx/httpx2 transport it knows
        warm = LiteLLMWarmup()
        warm.start()
        asyncio.run(warm.ready())
    assert warm.loaded
    messages = [r.getMessage() for r in caplog.records if r.name == "openclaw.warmup"]
    assert any(m.startswith("Bedrock path warmed") for m in messages), messages
    assert not any("skipped" in m for m in messages), messages  # the call itself ran
    assert not list(cassettes.rglob("*.yaml"))
