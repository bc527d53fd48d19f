"""Loopback model upstreams for the end-to-end check: scripted tool round trips, with rules.

Both upstreams play the same two-step script, whatever the client, so that an agent turn
makes exactly one tool round trip:

1. the conversation has no tool result after its last assistant turn -> the model calls a
   tool: ``exec`` with ``{"command": "echo <token>"}`` when offered (OpenClaw's shell tool),
   else the first tool offered, with ``{}``. ``<token>`` is the last ``token=<word>`` found in
   the user messages (default ``e2e-ok``);
2. the conversation ends with tool results -> the model answers in text, quoting the tool
   output: ``The tool printed: <output>``, so the final answer proves the round trip. (Not
   ``Tool result: ...``: OpenClaw takes a reply starting so for leaked tool output and drops it.)

:class:`BedrockUpstream` speaks Bedrock Runtime (``POST /model/{id}/converse`` and
``/converse-stream``, event-stream frames from :mod:`bench.upstreams.eventstream`) and
**enforces the Converse rules that real Bedrock enforces**, answering its real
``400 ValidationException`` when a request breaks one (see :func:`converse_violation`):
the conversation starts with a user turn, roles alternate, cache points follow Bedrock's
rules and cached prefixes are read back (:mod:`e2e.bedrock_cache_rules`), ``toolConfig`` is present whenever
the history holds ``toolUse``/``toolResult`` blocks, every ``toolResult`` answers a ``toolUse``
of the turn before and every ``toolUse`` is answered, ids and tool names match Bedrock's
patterns, text blocks are not blank, and the last turn is the user's.

:class:`OpenAIUpstream` speaks ``POST /v1/chat/completions`` (JSON and SSE) and enforces
OpenAI's tool-message rule (a ``tool`` message answers a ``tool_calls`` id of the assistant
message before it). It honours ``stream_options.include_usage`` as OpenAI does.

Both keep every request (``.requests``: path, parsed body, the 4xx they got, if any).
Run one alone (prints ``READY <kind> <port> <pid>``)::

    python -m e2e.upstreams bedrock --port 9102
"""

from __future__ import annotations

import argparse
import itertools
import re
import secrets
import threading
from collections.abc import Callable
from urllib.parse import unquote
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench.upstreams._http import Handler, Request, Responder, StubStats, ThreadedServer, run_blocking
from bench.upstreams.eventstream import CONVERSE_STREAM_CONTENT_TYPE, encode_event
from e2e.bedrock_cache_rules import PromptCache, cache_violation
from e2e.converse_rules import TOOLCONFIG_MISSING, converse_violation

__all__ = [
    "BedrockUpstream",
    "Logged",
    "OpenAIUpstream",
    "TOOLCONFIG_MISSING",
    "converse_violation",
    "openai_violation",
    "scripted_tool_call",
]

_CORAL = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
_TOKEN = re.compile(r"token=([A-Za-z0-9_.-]+)")
JSON = [("content-type", "application/json")]


@dataclass
class Logged:
    """One request an upstream received, and the 4xx message it answered (None: 200)."""

    path: str
    body: Any
    headers: dict[str, str]
    rejected: str | None = None


@dataclass
class _Log:
    requests: list[Logged] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: Logged) -> Logged:
        with self.lock:
            self.requests.append(entry)
        return entry


def scripted_tool_call(tool_names: list[str], user_texts: list[str]) -> tuple[str, dict[str, Any]]:
    """The tool the scripted model calls, and its input (see the module docstring)."""
    token = "e2e-ok"
    for text in user_texts:
        found = _TOKEN.findall(text)
        if found:
            token = found[-1]
    if "exec" in tool_names:
        return "exec", {"command": f"echo {token}"}
    return tool_names[0], {}


def _split(text: str, pieces: int) -> list[str]:
    """``text`` cut into ``pieces`` fragments, mid-token, as Claude streams tool input."""
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


# --- Bedrock ---------------------------------------------------------------------------------


def _converse_plan(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The assistant content blocks and stopReason of the scripted answer."""
    last = body["messages"][-1]["content"]
    results = [b["toolResult"] for b in last if "toolResult" in b]
    if results:
        outputs = []
        for result in results:
            for part in result.get("content") or []:
                outputs.append(str(part.get("text") if "text" in part else orjson.dumps(part.get("json")).decode()))
        return [{"text": f"The tool printed: {' '.join(o.strip() for o in outputs)}"}], "end_turn"
    tools = [t["toolSpec"]["name"] for t in (body.get("toolConfig") or {}).get("tools") or [] if "toolSpec" in t]
    if not tools:
        return [{"text": "No tools were offered, so here is a plain answer."}], "end_turn"
    user_texts = [b["text"] for m in body["messages"] if m["role"] == "user" for b in m["content"] if "text" in b]
    name, args = scripted_tool_call(tools, user_texts)
    tool_use = {"toolUseId": f"tooluse_{secrets.token_urlsafe(16)}", "name": name, "input": args}
    return [{"text": "I will use a tool for that."}, {"toolUse": tool_use}], "tool_use"


def _usage(body: Any, output: int, cache: PromptCache, model_id: str) -> dict[str, int]:
    usage = {**cache.account(body, model_id), "outputTokens": output}
    usage["totalTokens"] = sum(usage.values())  # Bedrock's total counts cache reads and writes too
    return usage


def _converse_stream(blocks: list[dict[str, Any]], stop: str, usage: dict[str, int]) -> list[bytes]:
    """ConverseStream frames for ``blocks``, shaped like a real Claude stream."""
    frames = [encode_event("messageStart", {"role": "assistant"})]
    for index, block in enumerate(blocks):
        if "text" in block:  # text blocks start with their deltas (no contentBlockStart)
            for piece in _split(block["text"], 3):
                frames.append(encode_event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}))
        else:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            frames.append(encode_event("contentBlockStart", {"contentBlockIndex": index, "start": start}))
            for piece in ["", *_split(orjson.dumps(use["input"]).decode(), 3)]:  # Claude sends "" first
                frames.append(encode_event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}))
        frames.append(encode_event("contentBlockStop", {"contentBlockIndex": index}))
    frames.append(encode_event("messageStop", {"stopReason": stop}))
    frames.append(encode_event("metadata", {"usage": usage, "metrics": {"latencyMs": 5}}))
    return frames


def bedrock_handler(log: _Log) -> Callable[[StubStats], Handler]:
    cache = PromptCache()  # one per upstream: a prefix seen by an earlier request is read

    def factory(stats: StubStats) -> Handler:
        async def handle(request: Request, out: Responder) -> None:
            parts = request.path.split("/")
            if not (request.method == "POST" and len(parts) == 4 and parts[1] == "model" and parts[3] in ("converse", "converse-stream")):
                _bedrock_error(out, 404, "UnknownOperationException", f"{request.method} {request.path} is not a Bedrock Runtime operation")
                return
            try:
                body = orjson.loads(request.body or b"{}")
            except orjson.JSONDecodeError:
                _bedrock_error(out, 400, "SerializationException", "The request body is not valid JSON.")
                return
            entry = log.add(Logged(request.path, body, dict(request.headers)))
            if not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
                entry.rejected = "Missing Authentication Token"
                _bedrock_error(out, 403, "MissingAuthenticationTokenException", entry.rejected)
                return
            model_id = unquote(parts[2])
            problem = converse_violation(body) or cache_violation(body, model_id)
            if problem is not None:
                entry.rejected = problem
                _bedrock_error(out, 400, "ValidationException", problem)
                return
            blocks, stop = _converse_plan(body)
            usage = _usage(body, 7 if stop == "tool_use" else 5, cache, model_id)
            if parts[3] == "converse":
                answer = {"output": {"message": {"role": "assistant", "content": blocks}}, "stopReason": stop,
                          "usage": usage, "metrics": {"latencyMs": 5}}
                out.send(200, [*JSON, ("x-amzn-requestid", secrets.token_hex(8))], orjson.dumps(answer))
                return
            out.start(200, [("content-type", CONVERSE_STREAM_CONTENT_TYPE), ("x-amzn-requestid", secrets.token_hex(8))])
            for frame in _converse_stream(blocks, stop, usage):
                out.chunk(frame)
            out.end()

        return handle

    return factory


def _bedrock_error(out: Responder, status: int, kind: str, message: str) -> None:
    out.send(status, [*JSON, ("x-amzn-errortype", kind + _CORAL), ("x-amzn-requestid", secrets.token_hex(8))],
             orjson.dumps({"message": message}))


# --- OpenAI-compatible -----------------------------------------------------------------------


def openai_violation(body: Any) -> str | None:
    """The 400 message OpenAI gives for this chat body's tool messages, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        return "'messages' must be a non-empty array"
    answered: set[str] = set()
    for i, message in enumerate(body["messages"]):
        role = message.get("role")
        if role == "assistant":
            answered = {c.get("id") for c in message.get("tool_calls") or []}
            if message.get("content") is None and not message.get("tool_calls"):
                return f"Invalid value for 'content': expected a string, got null. (messages[{i}].content)"
        elif role == "tool":
            if message.get("tool_call_id") not in answered:
                return (f"Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
                        f"'tool_calls'. (messages[{i}].tool_call_id {message.get('tool_call_id')!r})")
    return None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text") or "") for p in content or [] if isinstance(p, dict))


def openai_handler(log: _Log) -> Callable[[StubStats], Handler]:
    ids = itertools.count(1)

    def factory(stats: StubStats) -> Handler:
        async def handle(request: Request, out: Responder) -> None:
            if not (request.method == "POST" and request.path.endswith("/chat/completions")):
                out.send(404, JSON, b'{"error":{"message":"not found","type":"invalid_request_error","code":"not_found"}}')
                return
            try:
                body = orjson.loads(request.body)
            except orjson.JSONDecodeError:
                out.send(400, JSON, b'{"error":{"message":"body is not JSON","type":"invalid_request_error"}}')
                return
            entry = log.add(Logged(request.path, body, dict(request.headers)))
            problem = openai_violation(body)
            if problem is not None:
                entry.rejected = problem
                out.send(400, JSON, orjson.dumps({"error": {"message": problem, "type": "invalid_request_error", "code": None, "param": "messages"}}))
                return
            messages = body["messages"]
            trailing = list(itertools.takewhile(lambda m: m.get("role") != "assistant", reversed(messages)))
            results = [_text_of(m.get("content")).strip() for m in reversed(trailing) if m.get("role") == "tool"]
            model = str(body.get("model") or "loopback")
            tools = [t["function"]["name"] for t in body.get("tools") or [] if t.get("type") == "function"]
            message: dict[str, Any] = {"role": "assistant", "content": None}
            if results or not tools:
                message["content"] = f"The tool printed: {' '.join(results)}" if results else "No tools were offered, so here is a plain answer."
                finish = "stop"
            else:
                name, args = scripted_tool_call(tools, [_text_of(m.get("content")) for m in messages if m.get("role") == "user"])
                message["tool_calls"] = [{"id": f"call_{next(ids):04d}{secrets.token_hex(4)}", "type": "function",
                                          "function": {"name": name, "arguments": orjson.dumps(args).decode()}}]
                finish = "tool_calls"
            usage = {"prompt_tokens": max(1, len(request.body) // 4), "completion_tokens": 6}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            base = {"id": f"chatcmpl-e2e{secrets.token_hex(6)}", "created": 1_700_000_000, "model": model}
            if body.get("stream") is not True:
                answer = {**base, "object": "chat.completion", "usage": usage,
                          "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
                out.send(200, JSON, orjson.dumps(answer))
                return
            out.start(200, [("content-type", "text/event-stream"), ("cache-control", "no-cache")])
            for chunk in _openai_chunks(base, message, finish):
                out.chunk(b"data: " + orjson.dumps(chunk) + b"\n\n")
            if (body.get("stream_options") or {}).get("include_usage"):
                out.chunk(b"data: " + orjson.dumps({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}) + b"\n\n")
            out.chunk(b"data: [DONE]\n\n")
            out.end()

        return handle

    return factory


def _openai_chunks(base: dict[str, Any], message: dict[str, Any], finish: str) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    for piece in _split(message["content"] or "", 3):
        chunks.append(chunk({"content": piece}))
    for index, call in enumerate(message.get("tool_calls") or []):
        fn = call["function"]
        chunks.append(chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function", "function": {"name": fn["name"], "arguments": ""}}]}))
        for piece in _split(fn["arguments"], 3):
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, finish))
    return chunks


# --- servers ---------------------------------------------------------------------------------


class _Upstream(ThreadedServer):
    kind = ""

    def __init__(self, make: Callable[[_Log], Callable[[StubStats], Handler]], host: str = "127.0.0.1", port: int = 0) -> None:
        self._log = _Log()
        super().__init__(make(self._log), host, port)

    @property
    def requests(self) -> list[Logged]:
        with self._log.lock:
            return list(self._log.requests)


class BedrockUpstream(_Upstream):
    """The rule-enforcing Bedrock Runtime upstream in a thread; ``.url`` is its endpoint URL."""

    kind = "bedrock"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(bedrock_handler, host, port)


class OpenAIUpstream(_Upstream):
    """The OpenAI-compatible upstream in a thread; its base URL is ``.url + "/v1"``."""

    kind = "openai"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(openai_handler, host, port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A scripted tool-calling upstream (bedrock: rule-enforcing Converse).")
    parser.add_argument("kind", choices=("bedrock", "openai"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    make = bedrock_handler if args.kind == "bedrock" else openai_handler
    run_blocking(make(_Log()), args.host, args.port, args.kind)


if __name__ == "__main__":
    main()
