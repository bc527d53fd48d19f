"""Bad input, field by field: every wrong value is a 400 naming its field, nothing reaches the
provider, and what OpenAI accepts is accepted. Bad configs stop ``llmrouter serve`` with one
line naming the file and the key (exit code 2, no traceback).

Cases already covered by tests/resilience/test_server_errors.py (malformed JSON, a few wrong types,
unknown model, 413 with a Content-Length) are not repeated here.

Decisions where OpenAI's API and ours could differ (also in docs/hardening.md):

- unknown top-level fields are **ignored and not forwarded** (clients sending newer OpenAI
  fields keep working; a strict upstream never sees a key it does not know); unknown keys
  inside a message or a content part **are forwarded** (provider extensions such as
  ``cache_control`` live there);
- types are strict: ``"0.5"`` is not a temperature, ``true`` is not 1, ``10.0`` is not an
  integer; an int is a valid float;
- ``n`` must be 1 (one choice per request), at most 4 ``stop`` sequences, integers are bounded
  (``max_tokens`` < 2^31, ``seed`` in int64) so they always serialize upstream;
- the Content-Type header is not checked: a JSON body is a JSON body.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import ROOT

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def gw(gateway_factory, up):
    return gateway_factory(
        {"serve": {"timeout": 2.0, "max_body_bytes": 32 * 1024}, "llms": {"m": {"provider": "vllm", "model": "ok", "base_url": f"{up.url}/v1"}}},
        prefix=False,
    )


def post(gw, body: object = None, *, raw: bytes | None = None, **kwargs: object) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(f"{gw.base_url}/chat/completions", content=content, headers={"content-type": "application/json"}, timeout=10, **kwargs)


# --- 400 with the field named, and nothing sent upstream --------------------------------------

BAD_FIELDS = [
    ({"messages": []}, "messages"),
    ({"messages": ["hello"]}, "messages.0"),
    ({"messages": [{"content": "no role"}]}, "messages.0.role"),
    ({"messages": [{"role": "function", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "User", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": ["a string part"]}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": [{"text": "part without a type"}]}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": "x", "name": 5}]}, "messages.0.name"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]}]}, "messages.0.tool_calls.0.id"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}]},
     "messages.0.tool_calls.0.function.arguments"),
    ({"messages": [{"role": "tool", "content": "x", "tool_call_id": 7}]}, "messages.0.tool_call_id"),
    ({"model": ""}, "model"),
    ({"model": ["m"]}, "model"),
    ({"temperature": 2.01}, "temperature"),
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": "0.5"}, "temperature"),
    ({"temperature": True}, "temperature"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_p": -1}, "top_p"),
    ({"max_tokens": -1}, "max_tokens"),
    ({"max_tokens": 1.5}, "max_tokens"),
    ({"max_tokens": "10"}, "max_tokens"),
    ({"max_tokens": 1e29}, "max_tokens"),
    ({"max_tokens": 2**40}, "max_tokens"),
    ({"max_completion_tokens": 0}, "max_completion_tokens"),
    ({"n": 2}, "n"),
    ({"n": 0}, "n"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"stop": [1]}, "stop"),
    ({"stop": 5}, "stop"),
    ({"presence_penalty": 2.5}, "presence_penalty"),
    ({"frequency_penalty": -3}, "frequency_penalty"),
    ({"seed": 1.5}, "seed"),
    ({"seed": 2**64}, "seed"),
    ({"tools": [{"type": "retrieval"}]}, "tools.0.type"),
    ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools.0.function.name"),
    ({"tools": [{"type": "function", "function": {"name": "f" * 65}}]}, "tools.0.function.name"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]}, "tools.0.function.parameters"),
    ({"tools": {"type": "function"}}, "tools"),
    ({"tool_choice": 5}, "tool_choice"),
    ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ({"user": 5}, "user"),
    ({"response_format": "json"}, "response_format"),
    ({"stream_options": "yes"}, "stream_options"),
    ({"reasoning_effort": 1}, "reasoning_effort"),
]


@pytest.mark.parametrize(("patch", "param"), BAD_FIELDS, ids=[f"{p}-{i}" for i, (_, p) in enumerate(BAD_FIELDS)])
def test_each_bad_field_is_a_400_naming_it(gw, up, patch, param):
    sent = len(up.received)
    response = post(gw, {"model": "m", "messages": HELLO, **patch})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "invalid_request", param)
    assert f"`{param}`" in error["message"]
    assert len(up.received) == sent, "a bad request reached the provider"


def test_the_same_bad_field_is_the_same_error_when_streaming(gw):
    plain = post(gw, {"model": "m", "messages": HELLO, "temperature": "hot"})
    streamed = post(gw, {"model": "m", "messages": HELLO, "temperature": "hot", "stream": True})
    assert plain.status_code == streamed.status_code == 400
    assert plain.json() == streamed.json()


# --- what OpenAI accepts is accepted -----------------------------------------------------------

GOOD = [
    {"temperature": 0, "top_p": 0, "max_tokens": 1, "n": 1},
    {"temperature": 2, "top_p": 1, "presence_penalty": -2, "frequency_penalty": 2},
    {"temperature": 1},  # an int is a valid number
    {"stop": ["a", "b", "c", "d"]},
    {"stop": "\n"},
    {"seed": -(2**63), "max_completion_tokens": 2**31 - 1},
    {"messages": [{"role": "system", "content": "be brief"}, {"role": "developer", "content": "x"}, {"role": "user", "content": "hi"}]},
    {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]},
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                  {"role": "tool", "tool_call_id": "c1", "content": "42"}]},
    {"messages": [{"role": "user", "content": "emoji 🦀, NUL \u0000, RTL \u202e, 中文"}]},
    {"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}], "tool_choice": "auto"},
    {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "tools": [{"type": "function", "function": {"name": "get_weather"}}]},
    {"response_format": {"type": "json_object"}, "user": "u-1", "reasoning_effort": "low", "parallel_tool_calls": False},
]


@pytest.mark.parametrize("patch", GOOD, ids=range(len(GOOD)))
def test_valid_requests_are_accepted(gw, patch):
    response = post(gw, {"model": "m", "messages": HELLO, **patch})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello world"


def test_unknown_top_level_fields_are_ignored_and_not_forwarded(gw, up):
    extras = {"logit_bias": {"50256": -100}, "metadata": {"k": "v"}, "some_future_field": [1, 2], "store": True}
    response = post(gw, {"model": "m", "messages": HELLO, "temperature": 0.5, **extras})
    assert response.status_code == 200, response.text
    sent = up.received[-1]
    assert sent["temperature"] == 0.5 and sent["messages"] == HELLO
    assert not set(extras) & set(sent), sent


def test_unknown_keys_inside_messages_are_forwarded(gw, up):
    message = {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}], "x_provider_hint": 1}
    assert post(gw, {"model": "m", "messages": [message]}).status_code == 200
    assert up.received[-1]["messages"] == [message]


def test_content_type_is_not_checked(gw):
    response = httpx.post(f"{gw.base_url}/chat/completions", content=json.dumps({"model": "m", "messages": HELLO}), headers={"content-type": "text/plain"}, timeout=10)
    assert response.status_code == 200


# --- JSON limits ---------------------------------------------------------------------------


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_json_depth_limit(gw):
    # The body object is level 1 and `metadata` (an ignored field) level 2, so 62 lists reach 64.
    assert post(gw, {"model": "m", "messages": HELLO, "metadata": nested(62)}).status_code == 200
    too_deep = post(gw, {"model": "m", "messages": HELLO, "metadata": nested(63)})
    assert too_deep.status_code == 400 and "deeper than 64" in too_deep.json()["error"]["message"]
    # Deep enough to overflow a recursive parser: still a clean 400.
    raw = b'{"model": "m", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert post(gw, raw=raw).status_code == 400


@pytest.mark.parametrize("raw", [b'{"model": "m", "messages": [{"role": "user", "content": "\xff\xfe"}]}', b"null", b"123", b'"text"',
                                 b'{"model": "m", "messages": [], "temperature": NaN}', b'{"model": "m", "temperature": 1e400}'])
def test_invalid_bytes_and_json_values_are_400(gw, raw):
    response = post(gw, raw=raw)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_chunked_body_over_the_limit_is_413_without_content_length(gw, up):
    sent = len(up.received)

    def body():  # no Content-Length: the limit is enforced while reading
        yield b'{"model": "m", "messages": [{"role": "user", "content": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'"}]}'

    response = httpx.post(f"{gw.base_url}/chat/completions", content=body(), headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
    assert len(up.received) == sent


def test_websocket_bad_frames_cost_only_their_request(gw):
    from websockets.sync.client import connect

    def answer(ws) -> list[str]:
        frames = []
        while (frame := ws.recv(timeout=10)) != "data: [DONE]\n\n":
            frames.append(frame)
        return frames

    with connect(f"ws://127.0.0.1:{gw.port}/v1/chat/ws") as ws:
        for frame, code in ((b"\xff\xfe not utf-8", "invalid_request"), ("x" * (40 * 1024), "invalid_request"), ("[1, 2]", "invalid_request"),
                            (json.dumps({"model": "m", "messages": HELLO, "temperature": "hot"}), "invalid_request"),
                            (json.dumps({"model": "nope", "messages": HELLO}), "model_not_found")):
            ws.send(frame)
            frames = answer(ws)
            assert len(frames) == 1 and json.loads(frames[0][6:])["error"]["code"] == code, frames
        ws.send(json.dumps({"model": "m", "messages": HELLO}))
        text = "".join(json.loads(f[6:])["choices"][0]["delta"].get("content") or "" for f in answer(ws) if json.loads(f[6:]).get("choices"))
        assert text == "Hello world"


# --- bad configs at startup: one line, exit code 2, no traceback --------------------------------

GOOD_MODEL = "llms:\n  m:\n    provider: vllm\n    model: m\n    base_url: http://127.0.0.1:9/v1\n"
BAD_CONFIGS = {
    "bad-yaml": ("llms:\n  m:\n    provider: vllm\n   model: [unclosed\n", ["invalid YAML", "line"]),
    "unknown-serve-key": ("serve:\n  prot: 8080\n" + GOOD_MODEL, ["serve.prot", "unknown key", "did you mean 'port'"]),
    "unknown-model-key": (GOOD_MODEL + "    aws_regoin: us-east-1\n", ["llms.m.aws_regoin", "unknown key", "did you mean 'aws_region'"]),
    "unknown-top-key": ("servr:\n  port: 1\n" + GOOD_MODEL, ["servr", "unknown key", "did you mean 'serve'"]),
    # A value needed to start (an unset key only warns: tests/compat/test_unset_key_variables.py).
    "missing-env-var": ("serve:\n  port: ${OPENCLAW_TEST_SURELY_UNSET_VAR}\n" + GOOD_MODEL, ["serve.port", "OPENCLAW_TEST_SURELY_UNSET_VAR", "is not set"]),
    "wrong-type": ("serve:\n  port: eighty\n" + GOOD_MODEL, ["serve.port"]),
    "port-range": ("serve:\n  port: 70000\n" + GOOD_MODEL, ["serve.port", "65535"]),
    "empty-gateway-key": ("serve:\n  api_keys: ['${OPENCLAW_TEST_SURELY_UNSET_VAR:-}']\n" + GOOD_MODEL, ["serve.api_keys", "empty"]),
    "no-models": ("serve:\n  port: 1\n", ["llms"]),
    "top-level-list": ("- a\n- b\n", ["top level"]),
    "missing-file": (None, ["cannot read"]),
}


@pytest.fixture(scope="module")
def startup_failures(tmp_path_factory) -> dict[str, tuple[int, str, str]]:
    """Every bad config through the real ``llmrouter serve``, started side by side."""
    folder = tmp_path_factory.mktemp("configs")
    script = Path(sys.executable).with_name("llmrouter")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "llmrouter"]
    procs = {}
    for name, (text, _) in BAD_CONFIGS.items():
        path = folder / f"{name}.yaml"
        if text is not None:
            path.write_text(text)
        procs[name] = (str(path), subprocess.Popen([*command, "serve", "--config", str(path), "--port", "1"], cwd=ROOT,
                                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = {}
    for name, (path, proc) in procs.items():
        out, err = proc.communicate(timeout=60)
        results[name] = (proc.returncode, path, out + err)
    return results


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_bad_config_is_one_line_naming_file_and_key(startup_failures, name):
    code, path, output = startup_failures[name]
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    line = lines[0]
    assert line.startswith(f"error: {path}: "), line
    for expected in BAD_CONFIGS[name][1]:
        assert expected in line, line
    assert "Traceback" not in output
