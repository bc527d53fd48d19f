"""call_api's ``api_keys_env`` and ``API_KEYS`` as the original LLMRouter reads them.

Each form reaches a loopback OpenAI-compatible upstream as the expected ``Authorization``
header; keys rotate across single calls (a counter per service, endpoint and model) and
across a batch (index modulo the number of keys); a value in no form is a clear ValueError.
"""

from __future__ import annotations

import pytest

from llmrouter.utils.api_calling import call_api
from loopback import StubReply, openai_completion_body


@pytest.fixture
def up(upstream):
    return upstream(lambda req: StubReply(body=openai_completion_body("ok")))


def request(url: str, service: str = "NVIDIA", model: str = "m") -> dict:
    return {"service": service, "api_endpoint": f"{url}/v1", "api_name": model, "model_name": model, "query": "hi"}


def sent(up) -> list[str | None]:
    return [r.headers.get("authorization") for r in up.requests]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("k-single-111", "Bearer k-single-111"),
        ('["k-json-222"]', "Bearer k-json-222"),
        ("k-comma-333,k-comma-444", "Bearer k-comma-333"),
        (["k-list-555"], "Bearer k-list-555"),
        ('{"nvidia": "k-obj-666"}', "Bearer k-obj-666"),
        ('{"NVIDIA": ["k-objlist-777"], "OpenAI": "other-key-000"}', "Bearer k-objlist-777"),
        ('{"Nvidia": "k-objcsv-888,k-objcsv-999"}', "Bearer k-objcsv-888"),
        ({"nVidia": "k-dict-121"}, "Bearer k-dict-121"),
    ],
    ids=["one", "json-list", "comma", "list", "object", "object-list", "object-comma", "dict"],
)
def test_each_form_sends_the_expected_authorization(up, keys, expected):
    # A model of its own per case: the rotation counter starts at the first key.
    result = call_api(request(up.url, model=f"m-{expected[-3:]}"), api_keys_env=keys, max_retries=0)
    assert "error" not in result, result
    assert sent(up) == [expected]


@pytest.mark.parametrize(
    ("value", "key"),
    [("k-env-one-1", "k-env-one-1"), ('["k-env-list-2"]', "k-env-list-2"), ('{"NVIDIA": "k-env-obj-3"}', "k-env-obj-3")],
)
def test_api_keys_in_the_environment_accepts_the_same_forms(up, monkeypatch, value, key):
    monkeypatch.setenv("API_KEYS", value)
    result = call_api(request(up.url, model=f"env-{key}"), max_retries=0)
    assert "error" not in result, result
    assert sent(up) == [f"Bearer {key}"]


def test_single_calls_rotate_over_the_keys(up):
    for _ in range(3):
        call_api(request(up.url, model="rotating"), api_keys_env='["k-a-1111", "k-b-2222"]', max_retries=0)
    assert sent(up) == ["Bearer k-a-1111", "Bearer k-b-2222", "Bearer k-a-1111"]


def test_a_batch_takes_key_index_modulo_the_number_of_keys(up):
    results = call_api([request(up.url, model=f"b{i}") for i in range(5)], api_keys_env="k-x-1111,k-y-2222", max_retries=0)
    assert all("error" not in r for r in results)
    by_model = {r.json()["model"]: r.headers["authorization"] for r in up.requests}
    assert [by_model[f"b{i}"] for i in range(5)] == ["Bearer k-x-1111", "Bearer k-y-2222"] * 2 + ["Bearer k-x-1111"]


def test_a_service_missing_from_the_object_is_a_clear_error_result(up):
    result = call_api(request(up.url, service="together"), api_keys_env='{"NVIDIA": "k-nv-1234"}', max_retries=0)
    assert result["error_code"] == "invalid_request"
    assert "per service (nvidia)" in result["error"] and "'together'" in result["error"]
    assert up.requests == []


@pytest.mark.parametrize("bad", ['["unterminated', '{"nvidia": 5}', "[1, 2]", 42])
def test_a_value_in_no_accepted_form_is_a_valueerror_listing_the_forms(up, bad):
    with pytest.raises(ValueError) as caught:
        call_api(request(up.url), api_keys_env=bad, max_retries=0)
    message = str(caught.value)
    assert "\n" not in message and "accepted forms" in message and "JSON list" in message and "per service" in message
    assert up.requests == []


def test_the_cli_hands_its_configured_keys_as_a_list(up):
    """``ModelChoice.api_keys_env`` (infer, chat) passes the YAML's keys as a list: still works."""
    result = call_api(request(up.url, model="cli"), api_keys_env=["yaml-key-1234"], max_retries=0)
    assert "error" not in result and sent(up) == ["Bearer yaml-key-1234"]
