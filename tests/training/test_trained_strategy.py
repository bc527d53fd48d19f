"""`router: {strategy: trained}`: serve and `infer --model auto` pick what `llmrouter route` picks;
a router that cannot be used stops the server with one line naming the file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from routing_fixtures import LLMS, SAMPLE, read_jsonl, small_router, small_scores, write_jsonl  # noqa: F401 - fixtures

from conftest import asgi_gateway
from loopback import StubReply, completion_body
from llmrouter.cli import main

MODELS = list(json.loads(LLMS.read_text()))
COST_WEIGHT = 0.05


def gateway_config(router: Path, base_url: str, models: list[str] = MODELS, **router_keys: object) -> dict:
    return {
        "router": {"strategy": "trained", "path": str(router), "cost_weight": COST_WEIGHT, **router_keys},
        "llms": {name: {"provider": "vllm", "model": f"id-{name}", "base_url": base_url} for name in models},
    }


def _routes(router: Path, queries_file: Path, tmp_path: Path) -> list[str]:
    out = tmp_path / "routes.jsonl"
    assert main(["route", "--router", str(router), "--input", str(queries_file), "--cost-weight", str(COST_WEIGHT), "--output", str(out)]) == 0
    return [r["model"] for r in read_jsonl(out)]


async def test_serve_routes_auto_as_llmrouter_route_does(tmp_path, upstream, small_router):
    up = upstream(lambda received: StubReply(body=completion_body("ok", received.json()["model"])))
    rows = read_jsonl(SAMPLE)[::7]  # 20 queries, every task family
    expected = _routes(small_router, write_jsonl(tmp_path / "q.jsonl", [{"query": r["query"]} for r in rows]), tmp_path)
    assert len(set(expected)) > 1  # a router that always picks one model would prove little
    picked = []
    async with asgi_gateway(gateway_config(small_router, up.url + "/v1")) as (client, _app):
        for row in rows:
            response = await client.post("/v1/chat/completions", json={"model": "auto", "messages": [{"role": "user", "content": row["query"]}]})
            assert response.status_code == 200, response.text
            picked.append(response.headers["x-openclaw-model"])
            assert response.json()["model"] == picked[-1]
    assert picked == expected
    assert [r.json()["model"] for r in up.requests] == [f"id-{m}" for m in expected]


def test_infer_model_auto_routes_the_same_way(tmp_path, upstream, small_router):
    up = upstream(lambda received: StubReply(body=completion_body("ok", received.json()["model"])))
    config = tmp_path / "gw.yaml"
    config.write_text(yaml.safe_dump(gateway_config(small_router, up.url + "/v1")))
    queries = write_jsonl(tmp_path / "q.jsonl", [{"query": r["query"]} for r in read_jsonl(SAMPLE)[3::9]])
    answers = tmp_path / "answers.jsonl"
    assert main(["infer", "--config", str(config), "--model", "auto", "--input", str(queries), "--output", str(answers)]) == 0
    assert [a["model_name"] for a in read_jsonl(answers)] == _routes(small_router, queries, tmp_path)
    question = read_jsonl(queries)[0]["query"]
    before = len(up.requests)
    assert main(["infer", "--config", str(config), "--model", "auto", "--query", question]) == 0
    assert up.requests[before].json()["model"] == f"id-{_routes(small_router, queries, tmp_path)[0]}"


def test_router_models_limits_the_trained_choice(small_router):
    from llmrouter.config import OpenClawConfig
    from llmrouter.routing.trained import build_trained

    config = OpenClawConfig.from_dict(gateway_config(small_router, "http://127.0.0.1:9/v1"))
    config.router.models = ["gemma-2-9b-it", "codegemma-7b"]
    strategy = build_trained(config, config.router.pool(list(config.llms)))
    assert {strategy.decide(r["query"]) for r in read_jsonl(SAMPLE)} <= {"gemma-2-9b-it", "codegemma-7b"}


def _startup_error(config: dict) -> str:
    from llmrouter.config import OpenClawConfig
    from openclaw_litellm.app import create_app

    with pytest.raises(ValueError) as caught:
        create_app(OpenClawConfig.from_dict(config))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_unusable_router_directories_stop_the_server(tmp_path, small_router):
    router = tmp_path / "router"
    shutil.copytree(small_router, router)
    url = "http://127.0.0.1:9/v1"
    assert f"{router / 'manifest.json'}: the router picks among 'qwen2.5-7b-instruct', which is not under `llms`" in _startup_error(
        gateway_config(router, url, models=[m for m in MODELS if m != "qwen2.5-7b-instruct"])
    )
    manifest = json.loads((router / "manifest.json").read_text())
    manifest["featurizer"]["version"] = 2
    (router / "manifest.json").write_text(json.dumps(manifest))
    assert "featurizer tfidf-words-1-2 version 2" in _startup_error(gateway_config(router, url))
    shutil.rmtree(router)
    shutil.copytree(small_router, router)
    (router / "idf.npy").write_bytes(b"\x93NUMPY")
    assert f"router.path: {router / 'idf.npy'}: truncated or modified" in _startup_error(gateway_config(router, url))
    assert f"router.path: {tmp_path / 'missing'}: no such router directory" in _startup_error(gateway_config(tmp_path / "missing", url))


def test_llmrouter_serve_refuses_a_router_for_other_models_in_one_line(tmp_path, small_router):
    config = tmp_path / "gw.yaml"
    config.write_text(yaml.safe_dump(gateway_config(small_router, "http://127.0.0.1:9/v1", models=MODELS[:3])))
    done = subprocess.run(
        [sys.executable, "-m", "llmrouter", "serve", "--config", str(config), "--port", "0"],
        capture_output=True, text=True, timeout=120, env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {config}: router.path: {small_router / 'manifest.json'}: the router picks among"), done.stderr
