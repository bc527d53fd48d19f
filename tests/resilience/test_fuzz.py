"""Property / fuzz runs against the gateway: no 5xx, no crash, whatever a client sends.

- **schemathesis** generates requests from the app's own OpenAPI document (``app.openapi()``;
  the chat endpoint declares its request body via ``openapi_extra``), valid ones and
  deliberately invalid ones (negative mode), for every operation;
- **hypothesis** throws arbitrary JSON at the chat endpoint (message shapes, parameter values
  of every JSON type) and arbitrary frames at the WebSocket.

The gateway runs on a loopback port in front of :class:`FaultUpstream`'s ``ok`` model, so
valid requests are answered fast and go through routing, the upstream call and shaping.

Bounds: schemathesis ``MAX_EXAMPLES`` per operation, hypothesis ``JSON_EXAMPLES`` /
``WS_EXAMPLES``; every example has a ``DEADLINE_MS`` deadline and every request a timeout;
no shrinking database is written (``database=None``), so runs are reproducible from the seed.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openapi_schema import gateway_schema


MAX_EXAMPLES = 100
JSON_EXAMPLES = 150
WS_EXAMPLES = 60
DEADLINE_MS = 3000
MODELS = ["auto", "stub", "stub-stream-broken", "no-such-model"]

COMMON = settings(deadline=DEADLINE_MS, database=None, derandomize=True, suppress_health_check=list(HealthCheck), print_blob=True)


@pytest.fixture(scope="module")
def gw(gateway_factory, up):
    base = f"{up.url}/v1"
    return gateway_factory(
        {
            "serve": {"timeout": 2.0, "max_body_bytes": 256 * 1024},
            "llms": {
                "stub": {"provider": "vllm", "model": "ok", "base_url": base},
                "stub-stream-broken": {"provider": "vllm", "model": "reset-mid", "base_url": base},
            },
        },
        prefix=False,
    )


def check_response(status: int, content_type: str, text: str) -> None:
    """What every answer of the gateway must look like, whatever the request was."""
    event(f"HTTP {status}")  # pytest --hypothesis-show-statistics shows the mix
    assert status < 500 or status in (502, 504), f"{status}: {text[:500]}"  # 502/504 only name an upstream failure
    if status >= 400:
        assert content_type.startswith("application/json"), content_type
        body = json.loads(text)
        assert set(body) == {"error"} and isinstance(body["error"]["message"], str), body
        assert body["error"]["code"] != "internal_error", body
        event(f"{status} {body['error']['code']} {str(body['error'].get('param')).split('.')[0]}")
        assert "Traceback" not in text
    elif content_type.startswith("text/event-stream"):
        assert text.endswith("data: [DONE]\n\n"), text[-300:]
        assert '"internal_error"' not in text, text[-500:]


# --- schemathesis, from the app's OpenAPI document --------------------------------------------


schema = gateway_schema(MODELS, max_examples=MAX_EXAMPLES)


@schema.parametrize()
@settings(COMMON, max_examples=MAX_EXAMPLES)
def test_openapi_fuzz_finds_no_server_error(case, gw):
    from schemathesis.checks import not_a_server_error

    response = case.call(base_url=gw.url, timeout=10)
    content_type = response.headers.get("content-type") or [""]  # schemathesis: header -> list of values
    check_response(response.status_code, content_type[0] if isinstance(content_type, list) else content_type, response.text)
    if response.status_code not in (502, 504):  # an upstream failure is a legitimate 5xx
        case.validate_response(response, checks=[not_a_server_error])


# --- hypothesis: arbitrary JSON bodies and message shapes --------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
VALID_ROLES = ["system", "developer", "user", "user", "assistant", "tool"]
roles = st.sampled_from([*VALID_ROLES, "function", "wizard", "", "USER"]) | json_values
content = st.text(max_size=40) | st.none() | st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio", 7])}, optional={"text": json_values, "image_url": json_values}),
    max_size=3,
) | json_values
message = st.fixed_dictionaries(
    {"role": st.sampled_from(VALID_ROLES) | roles, "content": content},
    optional={
        "name": st.text(max_size=10) | json_values,
        "tool_calls": st.lists(st.fixed_dictionaries({"id": st.text(max_size=8), "type": st.just("function"), "function": st.fixed_dictionaries({"name": st.text(max_size=8), "arguments": st.text(max_size=20) | json_values})}), max_size=2) | json_values,
        "tool_call_id": st.text(max_size=8) | json_values,
        "extra_field": json_values,
    },
)
PARAMS = ["temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "tools", "tool_choice", "parallel_tool_calls",
          "user", "seed", "n", "response_format", "presence_penalty", "frequency_penalty", "reasoning_effort", "stream_options",
          "logit_bias", "logprobs", "metadata", "store", "prompt_cache_key", "unknown_future_field"]
# Plausible values first (so that many bodies are valid and reach the upstream), then anything.
plausible = st.floats(min_value=0, max_value=1) | st.integers(min_value=1, max_value=64) | st.text(max_size=8) | st.booleans()
chat_body = st.builds(
    lambda head, params: {**params, **head},
    st.integers(0, 4).flatmap(  # one body in five is shapeless; the others have real messages
        lambda pick: st.fixed_dictionaries({"model": json_values, "messages": json_values, "stream": json_values})
        if pick == 0
        else st.fixed_dictionaries({"model": st.sampled_from(MODELS), "messages": st.lists(message, min_size=1, max_size=4)}, optional={"stream": st.booleans()})
    ),
    st.dictionaries(st.sampled_from(PARAMS), plausible | json_values, max_size=3),
)


@settings(COMMON, max_examples=JSON_EXAMPLES)
@given(body=chat_body)
def test_arbitrary_chat_bodies_never_fail_the_gateway(gw, body):
    response = httpx.post(f"{gw.base_url}/chat/completions", content=json.dumps(body), headers={"content-type": "application/json"}, timeout=10)
    check_response(response.status_code, response.headers.get("content-type", ""), response.text)
    if response.status_code == 200 and body.get("stream") is not True:
        assert response.json()["choices"][0]["message"]["content"] == "Hello world"


@settings(COMMON, max_examples=WS_EXAMPLES)
@given(frames=st.lists(chat_body.map(json.dumps) | st.text(max_size=60) | st.binary(max_size=60), min_size=1, max_size=3))
def test_arbitrary_websocket_frames_never_break_the_connection(gw, frames):
    """Every frame gets its answer (chunks or an error) then ``[DONE]``; the connection lives on."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{gw.port}/v1/chat/ws", open_timeout=5, close_timeout=2) as ws:
        for frame in [*frames, json.dumps({"model": "stub", "messages": [{"role": "user", "content": "still there?"}]})]:
            ws.send(frame)
            events = []
            while (event := ws.recv(timeout=10)) != "data: [DONE]\n\n":
                assert isinstance(event, str) and event.startswith("data: ") and event.endswith("\n\n"), event
                events.append(json.loads(event[6:]))
            for event in events:
                if "error" in event:
                    assert event["error"]["code"] != "internal_error", event
        # The last frame was a valid request: it was answered in full on the same connection.
        assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices")) == "Hello world"


def test_the_gateway_is_healthy_after_the_fuzz(gw, up):
    assert httpx.get(f"{gw.url}/health").status_code == 200
    answer = httpx.post(f"{gw.base_url}/chat/completions", json={"model": "stub", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "Hello world"
