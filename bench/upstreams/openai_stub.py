"""An OpenAI-compatible upstream for benchmarks and tests: ``POST /v1/chat/completions``.

Answers any model name after a configurable delay; with ``stream: true`` it sends Server-Sent
Events the way OpenAI does (a role chunk, ``chunks`` content chunks ``interval`` seconds
apart, a finish chunk, a usage chunk when ``stream_options.include_usage``, then
``data: [DONE]``). Responses are pre-built bytes, so the stub costs a few microseconds of CPU
per request and is never the bottleneck.

Run it::

    python -m bench.upstreams.openai_stub --port 9101 --delay-ms 50 --chunks 20 --interval-ms 2

It prints ``READY openai <port> <pid>`` once listening. In tests::

    from bench.upstreams.openai_stub import OpenAIStub
    with OpenAIStub(delay=0.0, chunks=3) as stub:
        base_url = stub.url + "/v1"
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from bench.upstreams._http import Handler, Request, Responder, StubStats, ThreadedServer, run_blocking

__all__ = ["OpenAIStub", "StubConfig", "make_handler", "main"]

JSON = [("content-type", "application/json")]
SSE = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]


@dataclass(frozen=True)
class StubConfig:
    delay: float = 0.05  # seconds before the answer (non-stream) or the first chunk (stream)
    chunks: int = 20  # content chunks in a stream; the non-stream answer holds the same text
    interval: float = 0.0  # seconds between stream chunks
    prompt_tokens: int = 12


class _Answers:
    """Pre-built response bytes per model name."""

    def __init__(self, config: StubConfig) -> None:
        self.config = config
        self._cache: dict[str, tuple[bytes, list[bytes], bytes, bytes]] = {}

    def get(self, model: str) -> tuple[bytes, list[bytes], bytes, bytes]:
        found = self._cache.get(model)
        if found is None:
            found = self._cache[model] = self._build(model)
        return found

    def _build(self, model: str) -> tuple[bytes, list[bytes], bytes, bytes]:
        c = self.config
        created = int(time.time())
        cid = "chatcmpl-stub0000000000000000"
        tokens = [f"tok{i} " for i in range(c.chunks)]
        usage = {"prompt_tokens": c.prompt_tokens, "completion_tokens": c.chunks, "total_tokens": c.prompt_tokens + c.chunks}
        completion = orjson.dumps({
            "id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(tokens)}, "finish_reason": "stop"}],
            "usage": usage,
        })

        def event(choices: list, **extra: object) -> bytes:
            body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices, **extra}
            return b"data: " + orjson.dumps(body) + b"\n\n"

        first = event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        content = [event([{"index": 0, "delta": {"content": t}, "finish_reason": None}]) for t in tokens]
        finish = event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        usage_event = event([], usage=usage)
        return completion, [first, *content, finish], usage_event, b"data: [DONE]\n\n"


def make_handler(config: StubConfig) -> Callable[[StubStats], Handler]:
    def factory(stats: StubStats) -> Handler:
        answers = _Answers(config)

        async def handle(request: Request, out: Responder) -> None:
            if request.method == "POST" and request.path.endswith("/chat/completions"):
                try:
                    body = orjson.loads(request.body)
                    model = str(body.get("model") or "stub")
                except orjson.JSONDecodeError:
                    out.send(400, JSON, b'{"error":{"message":"body is not JSON","type":"invalid_request_error"}}')
                    return
                completion, events, usage_event, done = answers.get(model)
                if body.get("stream") is not True:
                    if config.delay:
                        await asyncio.sleep(config.delay)
                    out.send(200, JSON, completion)
                    return
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                out.start(200, SSE)
                if config.delay:
                    await asyncio.sleep(config.delay)
                if config.interval:
                    for ev in events:
                        if out.closed:
                            return
                        out.chunk(ev)
                        await asyncio.sleep(config.interval)
                    tail = (usage_event if include_usage else b"") + done
                else:
                    out.chunk(events[0])
                    tail = b"".join(events[1:]) + (usage_event if include_usage else b"") + done
                    await asyncio.sleep(0)  # the first event leaves on its own, like a real model's
                out.chunk(tail)
                out.end()
            elif request.path in ("/health", "/v1/health"):
                out.send(200, JSON, b'{"status":"ok"}')
            elif request.path == "/v1/models":
                out.send(200, JSON, b'{"object":"list","data":[{"id":"stub","object":"model","owned_by":"stub"}]}')
            elif request.path == "/stats":
                out.send(200, JSON, orjson.dumps({"requests": stats.requests, "signed": stats.signed}))
            else:
                out.send(404, JSON, b'{"error":{"message":"not found","type":"invalid_request_error","code":"not_found"}}')

        return handle

    return factory


class OpenAIStub(ThreadedServer):
    """The stub in a background thread: ``with OpenAIStub(delay=0) as s: s.url``."""

    def __init__(self, delay: float = 0.0, chunks: int = 5, interval: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(make_handler(StubConfig(delay=delay, chunks=chunks, interval=interval)), host, port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed in the READY line)")
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--interval-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    config = StubConfig(delay=args.delay_ms / 1000, chunks=args.chunks, interval=args.interval_ms / 1000)
    run_blocking(make_handler(config), args.host, args.port, "openai")


if __name__ == "__main__":
    main()
