"""``serve.workers: 2``: two processes on one port, one set of metrics, one reload, one drain."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.upstreams.openai_stub import OpenAIStub
from scaleout_support import gateways, redis_server  # noqa: F401 - fixtures

HELLO = [{"role": "user", "content": "hi"}]
STREAMS = 16  # spread by SO_REUSEPORT's hash: all on one worker has odds of 2 in 65536


def requests_total(url: str, model: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "llmrouter_requests_total" and s.labels["model"] == model)


async def slow_streams(url: str) -> list[str]:
    async def one() -> str:
        async with httpx.AsyncClient(timeout=20) as client:  # a connection each: the kernel picks a worker
            reply = await client.post(f"{url}/v1/chat/completions", json={"model": "slow-a", "stream": True, "messages": HELLO})
            return reply.text

    return await asyncio.gather(*(one() for _ in range(STREAMS)))


def test_two_workers_share_one_port_metrics_and_signals(gateways, redis_server):  # noqa: F811
    # The asyncio stub (a large listen backlog): sixteen streams at once, ten chunks 0.1 s apart.
    with OpenAIStub(delay=0.0, chunks=10, interval=0.1) as up:
        run_workers(gateways, up.url, redis_server.url)


def run_workers(gateways, upstream_url: str, redis_url: str) -> None:  # noqa: ANN001
    config = (f"serve: {{workers: 2, drain_timeout: 5, log_format: json}}\nstate: {{redis_url: '{redis_url}'}}\n"
              f"llms:\n  slow-a: {{provider: vllm, model: slow-a, base_url: '{upstream_url}/v1'}}\n")
    gw = gateways("workers", config).wait_ready()
    deadline = time.monotonic() + 30
    while gw.log_text().count("Application startup complete") < 2:  # both workers listen
        assert time.monotonic() < deadline, gw.log_text()
        time.sleep(0.05)
    answers = asyncio.run(slow_streams(gw.url))
    assert [a for a in answers if not a.rstrip().endswith("data: [DONE]")] == []
    deadline = time.monotonic() + 5  # a line is written just after its answer's last byte
    while len(access := [json.loads(line) for line in gw.log_text().splitlines() if '"msg":"request"' in line]) < STREAMS:
        assert time.monotonic() < deadline, access
        time.sleep(0.05)
    assert len(access) == STREAMS and len({line["pid"] for line in access}) == 2  # both workers served
    # Every scrape, whichever worker answers it, counts all of them (prometheus_client multiprocess mode).
    assert [requests_total(gw.url, "slow-a") for _ in range(4)] == [float(STREAMS)] * 4

    gw.config.write_text("llms: [not, a, mapping]\n")
    gw.proc.send_signal(signal.SIGHUP)
    log = gw.wait_log("reload refused")
    assert log.count("reload refused") == 1  # refused once, by the supervisor, before any worker

    gw.proc.send_signal(signal.SIGTERM)
    assert gw.proc.wait(15) == 0
