"""Two real ``llmrouter serve`` processes sharing one real ``redis-server`` behave as one gateway.

Round robin alternates across both; a key's ``rpm`` holds across both; a model cooled by a
failure on one is tried last by the other; spend after streamed and non-streamed answers is
tokens x prices; ``/metrics`` counts what was sent; no key reaches Redis, a log or /metrics;
Redis killed mid-test: requests are still served in time, and sharing resumes after.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from llmrouter.pricing import Prices, usage_cost
from llmrouter.state import key_id
from llmrouter.state.redis_store import RedisStore
from scaleout_support import Gateway, RedisServer, loopback_route, redis_server  # noqa: F401 - fixture

PLAIN_KEY = "gw-plain-" + "p1" * 8
LIMITED_KEY = "gw-limited-" + "l2" * 8
SPENDER_KEY = "gw-spender-" + "s3" * 8
USAGE = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
PRICES = Prices(input_price=2.0, output_price=10.0)


def config_text(upstream_url: str, redis_url: str) -> str:
    llm = f"provider: vllm, base_url: '{upstream_url}/v1', input_price: {PRICES.input_price}, output_price: {PRICES.output_price}"
    return f"""
serve:
  api_keys:
    - {PLAIN_KEY}
    - {{key: {LIMITED_KEY}, rpm: 4}}
    - {{key: {SPENDER_KEY}, budget_usd: 10, budget_period: 1d, models: [priced]}}
  metrics_auth: false
  log_format: json
state: {{redis_url: '{redis_url}'}}
router:
  strategy: round_robin
  models: [a, b]
  fallback_models: [backup]
  cooldown_after: 1
  cooldown: 60
llms:
  a: {{model: a, {llm}}}
  b: {{model: b, {llm}}}
  priced: {{model: priced, {llm}}}
  down-flaky: {{model: down-flaky, {llm}}}
  backup: {{model: backup, {llm}}}
"""


@pytest.fixture(scope="module")
def pair(redis_server: RedisServer, upstream_factory, tmp_path_factory) -> Iterator[tuple[Gateway, Gateway]]:  # noqa: F811
    up = upstream_factory(loopback_route)
    workdir = tmp_path_factory.mktemp("pair")
    text = config_text(up.url, redis_server.url)
    one, two = Gateway(workdir, "one", text), Gateway(workdir, "two", text)
    try:
        one.wait_ready(), two.wait_ready()
        yield one, two
    finally:
        one.stop(), two.stop()


def chat(gateway: Gateway, key: str = PLAIN_KEY, model: str = "auto", stream: bool = False, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/chat/completions", timeout=10,
        headers={"authorization": f"Bearer {key}", **headers},
        json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
    )


def requests_total(gateway: Gateway) -> dict[tuple[str, str], float]:
    text = httpx.get(f"{gateway.url}/metrics", timeout=5).text
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "llmrouter_requests":
            for sample in family.samples:
                if sample.name == "llmrouter_requests_total":
                    counts[(sample.labels["model"], sample.labels["status"])] = sample.value
    return counts


def test_round_robin_alternates_across_both_instances(pair):
    one, two = pair
    served = [chat(gw).headers["x-openclaw-model"] for gw in (one, two, one, two, one, two)]
    # Wherever the shared rotation stood, consecutive requests alternate between a and b.
    assert all(x != y for x, y in zip(served, served[1:])), served


def test_a_keys_rpm_holds_across_both_instances(pair):
    one, two = pair
    replies = [chat(gw, LIMITED_KEY, "a") for gw in (one, two, one, two, one, two)]
    assert [r.status_code for r in replies] == [200, 200, 200, 200, 429, 429]
    refused = replies[-1]
    assert refused.json()["error"]["code"] == "rate_limit_exceeded" and 1 <= int(refused.headers["retry-after"]) <= 60


def test_a_cooldown_set_on_one_is_honoured_by_the_other(pair, upstream_factory):
    one, two = pair
    first = chat(one, model="down-flaky")
    assert (first.status_code, first.headers["x-openclaw-model"], first.headers["x-openclaw-attempts"]) == (200, "backup", "2")
    second = chat(two, model="down-flaky")  # cooled on `one`: `two` goes to the backup first
    assert (second.headers["x-openclaw-model"], second.headers["x-openclaw-attempts"]) == ("backup", "1")


def test_spend_is_tokens_times_prices_streamed_or_not_and_keys_stay_secret(pair, redis_server):  # noqa: F811
    one, two = pair
    assert chat(one, SPENDER_KEY, "priced").status_code == 200
    streamed = chat(two, SPENDER_KEY, "priced", stream=True)
    assert streamed.status_code == 200 and "[DONE]" in streamed.text
    not_allowed = chat(one, SPENDER_KEY, "a")
    assert (not_allowed.status_code, not_allowed.json()["error"]["code"]) == (403, "model_not_allowed")

    async def spend() -> dict[str, float]:
        store = RedisStore(redis_server.url)
        try:
            return await store.spend(key_id(SPENDER_KEY), 86400)
        finally:
            await store.aclose()

    expected = 2 * usage_cost(USAGE, PRICES)
    deadline = time.monotonic() + 5  # spend is written just after the answer
    while (got := asyncio.run(spend())) != pytest.approx({"priced": expected}) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got == pytest.approx({"priced": expected})

    places = {"redis": redis_server.dump(), "log one": one.log_text(), "log two": two.log_text(),
              "metrics one": httpx.get(f"{one.url}/metrics").text, "metrics two": httpx.get(f"{two.url}/metrics").text}
    for key in (PLAIN_KEY, LIMITED_KEY, SPENDER_KEY):
        assert not [where for where, text in places.items() if key in text]
    assert key_id(SPENDER_KEY) in places["redis"]  # the hash is how Redis knows the key


def test_metrics_count_the_requests_sent_and_the_access_log_has_the_request_id(pair):
    one, two = pair
    before = requests_total(one)
    for _ in range(3):
        assert chat(one, model="a").status_code == 200
    assert chat(one, model="a", stream=True).status_code == 200
    assert chat(one, model="nope").status_code == 404
    assert chat(one, key="not-a-key").status_code == 401
    tagged = chat(one, model="b", **{"x-request-id": "req-scaleout-42"})
    assert tagged.headers["x-request-id"] == "req-scaleout-42"
    after = requests_total(one)
    delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert delta == {("a", "200"): 4, ("none", "404"): 1, ("none", "401"): 1, ("b", "200"): 1}

    line = next(json.loads(l) for l in one.wait_log("req-scaleout-42").splitlines() if "req-scaleout-42" in l)
    assert line["msg"] == "request" and line["status"] == 200 and line["model"] == "b" and line["path"] == "/v1/chat/completions"


def test_redis_killed_then_restarted_requests_served_and_sharing_resumes(pair, redis_server):  # noqa: F811
    one, two = pair
    redis_server.kill()
    started = time.monotonic()
    replies = [chat(gw, LIMITED_KEY if i % 2 else PLAIN_KEY, "a") for i, gw in enumerate((one, two) * 3)]
    assert [r.status_code for r in replies] == [200] * 6  # local state: the limited key's minute starts afresh
    assert time.monotonic() - started < 3.0
    for gw in (one, two):
        assert gw.wait_log("is unreachable").count("is unreachable") == 1

    redis_server.start()
    time.sleep(1.2)  # RedisStore.RETRY_S: the next call tries Redis again
    served = [chat(gw).headers["x-openclaw-model"] for gw in (one, two, one, two)]
    assert all(x != y for x, y in zip(served, served[1:])), served
    assert "llmrouter:rr:" in redis_server.dump()  # the rotation lives in Redis again
    for gw in (one, two):
        gw.wait_log("sharing resumes")
