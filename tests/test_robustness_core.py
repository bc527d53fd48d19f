"""call_api and the gateway survive providers' oddities and callers' mistakes.

- A provider's malformed usage or timestamp never turns a good answer into an error.
- One bad request in a call_api batch never sinks the others, whatever it raises.
- A CLI --timeout beats the YAML's model timeout, which beats the built-in default.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from loopback import StubReply, completion_body
from llmrouter.commands import select_model
from llmrouter.utils.api_calling import call_api
from openclaw_litellm.app import create_app
from llmrouter.config import OpenClawConfig


def _odd_completion() -> dict:
    body = completion_body("still a fine answer")
    body["usage"] = {"prompt_tokens": "n/a", "completion_tokens": None, "total_tokens": [1]}
    body["created"] = "yesterday"
    return body


def test_call_api_keeps_an_answer_with_malformed_usage(upstream) -> None:
    server = upstream(lambda received: StubReply(body=_odd_completion()))
    result = call_api({"api_name": "m", "api_endpoint": server.url, "query": "hi"}, api_keys_env=[], max_retries=0)
    assert "error" not in result, result.get("error")
    assert result["response"] == "still a fine answer"
    assert (result["prompt_tokens"], result["completion_tokens"], result["token_num"]) == (0, 0, 0)


def test_gateway_answers_200_despite_malformed_usage(upstream) -> None:
    server = upstream(lambda received: StubReply(body=_odd_completion()))
    config = OpenClawConfig.from_dict({"llms": {"odd": {"provider": "vllm", "model": "m", "base_url": server.url}}})
    with TestClient(create_app(config)) as client:
        response = client.post("/v1/chat/completions", json={"model": "odd", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "still a fine answer"
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert isinstance(body["created"], int) and body["created"] > 0


def test_a_batch_survives_a_request_that_is_not_even_well_typed(upstream) -> None:
    server = upstream(lambda received: StubReply(body=completion_body("ok")))
    good = {"api_name": "m", "api_endpoint": server.url, "query": "hi", "id": 1}
    bad_timeout = {**good, "id": 2, "timeout": "soon"}
    not_a_dict = "what is 2+2?"
    results = call_api([good, bad_timeout, not_a_dict, {**good, "id": 4}], api_keys_env=[], max_retries=0)
    assert [r.get("id") for r in results] == [1, 2, None, 4]
    assert results[0]["response"] == "ok" and results[3]["response"] == "ok"
    assert "`timeout` must be a positive number" in results[1]["error"]
    assert results[2]["error"] and results[2]["request"] == not_a_dict


def _choice(tmp_path, model_timeout: float | None):  # noqa: ANN202
    llm = {"provider": "vllm", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    if model_timeout is not None:
        llm["timeout"] = model_timeout
    path = tmp_path / "c.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"llms": {"local": llm}}), encoding="utf-8")
    return select_model(str(path), None)


def test_timeout_precedence_flag_then_yaml_then_default(tmp_path) -> None:
    with_yaml = _choice(tmp_path, 12.0)
    assert with_yaml.timeout(None, 30) == 12.0
    assert with_yaml.timeout(3.0, 30) == 3.0
    assert "timeout" not in with_yaml.request  # the request never overrides the caller's choice
    assert _choice(tmp_path, None).timeout(None, 30) == 30
