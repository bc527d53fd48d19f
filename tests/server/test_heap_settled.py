"""Startup state is frozen out of the garbage collector's way (openclaw_litellm.heap).

A full collection walks every tracked object with the event loop stopped; with LiteLLM
loaded that was 50-160 ms, the gateway's worst latencies. The served process must freeze what
startup and LiteLLM's warm-up built, so collections during requests walk only new objects.
"""

from __future__ import annotations

import gc
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT
from real_server import free_port, llmrouter_command, stop_process, wait_for_ok

from openclaw_litellm import heap


@pytest.fixture
def unfreeze_after():
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def test_settle_moves_live_objects_out_of_collections(unfreeze_after):
    thresholds = gc.get_threshold()
    graph = [{"node": i, "edges": []} for i in range(50_000)]
    for i, node in enumerate(graph[1:], 1):
        node["edges"].append(graph[i - 1])  # containers the collector tracks
    heap.settle()
    assert gc.get_freeze_count() >= len(graph)
    # The collector still runs on its own schedule for what requests create.
    assert gc.isenabled() and gc.get_threshold() == thresholds
    # What a request creates afterwards is still collected: a cycle built now is freed.
    cycle: list = []
    cycle.append(cycle)
    marker = id(cycle)
    del cycle
    gc.collect()
    assert all(id(o) != marker for o in gc.get_objects(generation=2))


def test_served_gateway_freezes_startup_and_warmed_litellm(tmp_path):
    port = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "llms:\n"
        "  nova:\n    provider: bedrock\n    model: amazon.nova-lite-v1:0\n    aws_region: us-east-1\n"
        "    base_url: http://127.0.0.1:9\n"
    )
    log = tmp_path / "serve.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "AWS_ACCESS_KEY_ID": "AKIDTESTONLY", "AWS_SECRET_ACCESS_KEY": "test-not-real",
           "NO_PROXY": "127.0.0.1,localhost"}
    proc = subprocess.Popen([*llmrouter_command(), "serve", "--config", str(config), "--port", str(port),
                             "--log-level", "debug"], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_for_ok(proc, f"http://127.0.0.1:{port}/health/ready", log, deadline_s=90)
        deadline = time.monotonic() + 10
        while len(_frozen_counts(log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        counts = _frozen_counts(log)
    finally:
        stop_process(proc, grace_s=15)
    # Once when the app is up, once after LiteLLM's import and warm-up (hundreds of thousands).
    assert len(counts) == 2, log.read_text()[-3000:]
    assert max(counts) > 100_000


def _frozen_counts(log: Path) -> list[int]:
    return [int(n) for n in re.findall(r"heap settled: (\d+) objects frozen", log.read_text(errors="replace"))]

