"""A streamed body closes the upstream stream as soon as it is itself closed.

When a client leaves mid-answer the body generator is closed; the upstream stream it reads
(a pooled HTTP connection, a Bedrock call) must close then, not whenever the garbage
collector gets to it. Chat SSE, Responses SSE and WebSocket share this one loop
(:func:`~openclaw_litellm.guarded_stream.guarded_stream`); only their frames differ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llmrouter import errors
from openclaw_litellm import sse
from openclaw_litellm.guarded_stream import guarded_stream


def _sse(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    return guarded_stream(chunks, sse.ChatFrames(), "chat")


class Upstream:
    def __init__(self, fail_after: int | None = None) -> None:
        self.closed = False
        self.fail_after = fail_after

    async def chunks(self) -> AsyncIterator[dict[str, Any]]:
        try:
            for i in range(10):
                if i == self.fail_after:
                    raise errors.upstream_interrupted("m", "OpenAI-compatible")
                yield {"object": "chat.completion.chunk", "i": i}
        finally:
            self.closed = True


async def test_closing_the_body_mid_stream_closes_the_upstream_at_once():
    upstream = Upstream()
    source = upstream.chunks()  # held here, as the service's StreamServed holds it
    body = _sse(source)
    assert (await body.__anext__()).startswith(b"data: {")
    await body.aclose()  # the client left
    assert upstream.closed


async def test_a_failure_mid_stream_is_an_error_event_then_done():
    upstream = Upstream(fail_after=1)
    frames = [frame async for frame in _sse(upstream.chunks())]
    assert frames[-1] == b"data: [DONE]\n\n"
    assert b'"code":"upstream_interrupted"' in frames[-2]
    assert upstream.closed


async def test_an_unexpected_exception_mid_stream_is_the_internal_error_event_not_a_traceback(caplog):
    async def chunks() -> AsyncIterator[dict[str, Any]]:
        yield {"object": "chat.completion.chunk", "i": 0}
        raise RuntimeError("a bug, with /site-packages/ in its traceback")

    frames = [frame async for frame in _sse(chunks())]
    assert frames[-1] == b"data: [DONE]\n\n"
    assert b"The stream failed unexpectedly" in frames[-2] and b"site-packages" not in frames[-2]
    assert "chat stream failed" in caplog.text  # the traceback goes to the log, not the client
