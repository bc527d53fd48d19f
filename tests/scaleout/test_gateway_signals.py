"""SIGHUP reloads the YAML without dropping a stream; SIGTERM drains, then exits 0.

Real ``llmrouter serve`` processes; the upstream streams slowly (ten pieces 0.1 s apart) so
that a stream is in flight when the signal arrives.
"""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pytest

from scaleout_support import gateways, loopback_route  # noqa: F401 - fixture

HELLO = [{"role": "user", "content": "hi"}]


def config_text(upstream_url: str, models: list[str], drain_timeout: float = 10) -> str:
    llms = "\n".join(f"  {m}: {{provider: vllm, model: {m}, base_url: '{upstream_url}/v1'}}" for m in models)
    return f"serve: {{drain_timeout: {drain_timeout}}}\nllms:\n{llms}\n"


class SlowStream(threading.Thread):
    """A streamed chat request read to its end in a thread; ``first`` is set at its first chunk."""

    def __init__(self, url: str, model: str) -> None:
        super().__init__(daemon=True)
        self.url, self.model = url, model
        self.first = threading.Event()
        self.text = ""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.stream("POST", f"{self.url}/v1/chat/completions", timeout=20,
                              json={"model": self.model, "stream": True, "messages": HELLO}) as reply:
                for line in reply.iter_lines():
                    self.text += line + "\n"
                    self.first.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
            self.first.set()


def test_sighup_reloads_a_good_yaml_and_refuses_a_broken_one_streams_in_flight_finish(gateways, upstream):  # noqa: F811
    up = upstream(loopback_route)
    gw = gateways("hup", config_text(up.url, ["slow-old"])).wait_ready()
    stream = SlowStream(gw.url, "slow-old")
    stream.start()
    assert stream.first.wait(10)

    gw.config.write_text(config_text(up.url, ["slow-old", "fresh"]))
    gw.proc.send_signal(signal.SIGHUP)
    gw.wait_log("config reloaded")
    fresh = httpx.post(f"{gw.url}/v1/chat/completions", json={"model": "fresh", "messages": HELLO}, timeout=10)
    assert fresh.status_code == 200 and fresh.json()["choices"][0]["message"]["content"] == "answer from fresh"
    stream.join(10)
    assert stream.error is None and "part8" in stream.text and stream.text.rstrip().endswith("data: [DONE]")

    gw.config.write_text("llms:\n  broken: [unclosed\n")
    gw.proc.send_signal(signal.SIGHUP)
    log = gw.wait_log("reload refused")
    refused = [line for line in log.splitlines() if "reload refused" in line]
    assert len(refused) == 1 and "invalid YAML" in refused[0] and "Traceback" not in log
    still = httpx.post(f"{gw.url}/v1/chat/completions", json={"model": "fresh", "messages": HELLO}, timeout=10)
    assert still.status_code == 200 and gw.proc.poll() is None


def test_sigterm_drains_a_slow_stream_then_exits_0(gateways, upstream):  # noqa: F811
    up = upstream(loopback_route)
    gw = gateways("term", config_text(up.url, ["slow-drained"])).wait_ready()
    with httpx.Client(base_url=gw.url, timeout=5) as keepalive:
        assert keepalive.get("/health/ready").status_code == 200  # a pooled connection, opened before
        stream = SlowStream(gw.url, "slow-drained")
        stream.start()
        assert stream.first.wait(10)
        gw.proc.send_signal(signal.SIGTERM)
        gw.wait_log("draining")
        assert keepalive.get("/health/ready").status_code == 503  # a load balancer stops sending
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{gw.url}/health", timeout=2)  # no new connections
    stream.join(10)
    assert stream.error is None and "part8" in stream.text and stream.text.rstrip().endswith("data: [DONE]")
    assert gw.proc.wait(10) == 0
    assert "drained in" in gw.log_text()


def test_the_drain_timeout_bounds_a_stream_that_would_not_end(gateways, upstream):  # noqa: F811
    up = upstream(loopback_route)
    gw = gateways("cut", config_text(up.url, ["slow-cut"], drain_timeout=0.3)).wait_ready()
    stream = SlowStream(gw.url, "slow-cut")
    stream.start()
    assert stream.first.wait(10)
    started = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    assert gw.proc.wait(10) == 0
    assert time.monotonic() - started < 3.0
    assert "drain timeout of 0.3 s reached" in gw.log_text()


def test_a_reload_does_not_warm_litellm_up_again(gateways, upstream):  # noqa: F811
    """/health/ready stays 200 across SIGHUP: a readiness probe must not see a reloaded
    instance as going away while a second LiteLLM warm-up runs."""
    up = upstream(loopback_route)
    text = config_text(up.url, ["plain"]) + "  titan: {provider: bedrock, model: amazon.titan-text-lite-v1, aws_region: us-east-1}\n"
    gw = gateways("warm", text).wait_ready()
    gw.proc.send_signal(signal.SIGHUP)
    gw.wait_log("config reloaded")
    statuses = []
    for _ in range(20):
        statuses.append(httpx.get(f"{gw.url}/health/ready", timeout=5).status_code)
        time.sleep(0.05)
    assert set(statuses) == {200}, statuses
    assert gw.log_text().count("LiteLLM loaded in") == 1
