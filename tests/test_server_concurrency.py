"""One model's open stream never blocks another model's request, Bedrock or not.

The upstreams are loopback servers: an OpenAI-compatible one streaming a chunk every 0.2 s,
and a Bedrock Runtime stub (the gateway's ``base_url`` override) answering Converse at once
and ConverseStream slowly, frame by frame, from the recorded event-stream bytes.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from loopback import StubReply, converse_body, openai_completion_body, openai_sse_parts, recorded_converse_stream_frames

SLOW_PIECES = [f"w{i} " for i in range(10)]
SLOW_INTERVAL = 0.2  # 10 content chunks + finish + usage: the stream lasts ~2.4 s
BEDROCK_FRAME_INTERVAL = 0.4  # 5 frames: ~1.6 s
BEDROCK_DELAY = 0.6  # Converse answers after this long: a blocked event loop would show in the slow stream
HELLO = [{"role": "user", "content": "hello"}]


def route(request) -> StubReply:
    if request.path.endswith("/converse-stream"):
        return StubReply(headers={"content-type": "application/vnd.amazon.eventstream"}, parts=recorded_converse_stream_frames(), interval=BEDROCK_FRAME_INTERVAL)
    if request.path.endswith("/converse"):
        return StubReply(headers={"content-type": "application/json"}, body=converse_body("bedrock was not blocked"), delay=BEDROCK_DELAY)
    body = request.json()
    if body["model"] == "slow":
        return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(SLOW_PIECES), interval=SLOW_INTERVAL)
    if body.get("stream"):
        return StubReply(headers={"content-type": "text/event-stream"}, parts=openai_sse_parts(["fast"]))
    return StubReply(headers={"content-type": "application/json"}, body=openai_completion_body("fast"))


@pytest.fixture(scope="module")
def gw(gateway_factory, upstream_factory):
    up = upstream_factory(route)
    gw = gateway_factory(
        {
            "llms": {
                "slow": {"provider": "vllm", "model": "slow", "base_url": f"{up.url}/v1"},
                "fast": {"provider": "vllm", "model": "fast", "base_url": f"{up.url}/v1"},
                "bedrock": {"provider": "bedrock", "model": "amazon.titan-text-lite-v1", "aws_region": "us-east-1", "base_url": up.url},
            }
        },
        prefix=False,
    )
    # The first Bedrock request waits for LiteLLM to load: get that out of the way.
    assert gw.client().chat.completions.create(model="bedrock", messages=HELLO).choices[0].message.content == "bedrock was not blocked"
    return gw


class StreamInThread:
    """Reads a stream in a thread, time-stamping every content chunk."""

    def __init__(self, gw, model: str) -> None:
        self.times: list[float] = []
        self.text: list[str] = []
        self.first = threading.Event()
        self.error: BaseException | None = None
        self.end: float | None = None
        self.thread = threading.Thread(target=self._run, args=(gw, model), daemon=True)
        self.thread.start()

    def _run(self, gw, model: str) -> None:
        try:
            for chunk in gw.client().chat.completions.create(model=model, messages=HELLO, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    self.times.append(time.monotonic())
                    self.text.append(chunk.choices[0].delta.content)
                    self.first.set()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.end = time.monotonic()
            self.first.set()

    def join(self) -> None:
        self.thread.join(15)
        assert not self.thread.is_alive(), "the stream never ended"
        if self.error is not None:
            raise self.error


def test_bedrock_request_while_another_models_stream_is_open(gw):
    stream = StreamInThread(gw, "slow")
    assert stream.first.wait(5)
    started = time.monotonic()
    answer = gw.client().chat.completions.create(model="bedrock", messages=HELLO)
    bedrock_done = time.monotonic()
    stream.join()

    assert answer.choices[0].message.content == "bedrock was not blocked"
    assert bedrock_done - started < BEDROCK_DELAY + 1.0, f"the Bedrock request took {bedrock_done - started:.2f} s"
    assert stream.end - bedrock_done > 0.5, "the Bedrock answer came only after the slow stream ended"
    # ...and the slow stream kept its pace (one chunk per 0.2 s) while Bedrock was in flight.
    assert "".join(stream.text) == "".join(SLOW_PIECES)
    gaps = [b - a for a, b in zip(stream.times, stream.times[1:])]
    assert max(gaps) < BEDROCK_DELAY, gaps


def test_other_models_while_a_bedrock_stream_is_open(gw):
    stream = StreamInThread(gw, "bedrock")
    assert stream.first.wait(5)
    started = time.monotonic()
    answer = gw.client().chat.completions.create(model="fast", messages=HELLO)
    streamed = list(gw.client().chat.completions.create(model="fast", messages=HELLO, stream=True))
    done = time.monotonic()
    stream.join()

    assert answer.choices[0].message.content == "fast"
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "fast"
    assert done - started < 1.0, f"the other model took {done - started:.2f} s"
    assert stream.end - done > 0.3, "the other model was answered only after the Bedrock stream ended"
    assert "".join(stream.text) == "I am here and ready to assist"


async def test_many_concurrent_streams_and_bedrock_calls(gw):
    client = gw.aclient()

    async def slow() -> tuple[str, float]:
        text = ""
        async for chunk in await client.chat.completions.create(model="slow", messages=HELLO, stream=True):
            text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
        return text, time.monotonic()

    async def bedrock() -> tuple[str, float]:
        await asyncio.sleep(0.3)
        answer = await client.chat.completions.create(model="bedrock", messages=HELLO)
        return answer.choices[0].message.content, time.monotonic()

    started = time.monotonic()
    results = await asyncio.gather(*(slow() for _ in range(4)), *(bedrock() for _ in range(4)))
    slow_results, bedrock_results = results[:4], results[4:]
    assert all(text == "".join(SLOW_PIECES) for text, _ in slow_results)
    assert all(text == "bedrock was not blocked" for text, _ in bedrock_results)
    # The four slow streams ran side by side (not one after the other)...
    assert max(t for _, t in slow_results) - started < 4.5
    # ...and every Bedrock answer arrived while they were still streaming.
    assert max(t for _, t in bedrock_results) < min(t for _, t in slow_results)


def test_a_client_leaving_mid_stream_closes_the_upstream_call(gateway_factory, upstream_factory):
    long_answer = openai_sse_parts([f"w{i} " for i in range(40)])  # ~4 s at 0.1 s a chunk
    up = upstream_factory(lambda request: StubReply(headers={"content-type": "text/event-stream"}, parts=long_answer, interval=0.1))
    gw = gateway_factory({"llms": {"long": {"provider": "vllm", "model": "long", "base_url": f"{up.url}/v1"}}})
    body = {"model": "long", "messages": HELLO, "stream": True}
    with httpx.stream("POST", f"{gw.base_url}/chat/completions", json=body, timeout=10) as response:
        assert next(response.iter_lines()).startswith("data: ")
    left = time.monotonic()
    # The gateway hangs up on the provider instead of reading an answer nobody will get.
    while up.broken == 0 and time.monotonic() - left < 3.0:
        time.sleep(0.05)
    assert (up.broken, up.completed) == (1, 0)
