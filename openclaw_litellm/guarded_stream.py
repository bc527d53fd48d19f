"""A streamed answer after its first byte: chunks rendered as frames, a failure as an error frame.

Every streaming surface (chat SSE, Responses SSE, WebSocket) does the same thing once the
answer has started: render each ``chat.completion.chunk`` for its wire, and when the upstream
breaks, end with that surface's error frame instead of a broken connection (the status line
has gone out, so there is no HTTP error any more). Only the frames differ; they are a
:class:`Frames`, and :func:`guarded_stream` is the one loop around them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any, Protocol, TypeVar

from llmrouter import errors

__all__ = ["Frames", "guarded_stream"]

log = logging.getLogger("openclaw.stream")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Frames(Protocol[T_co]):
    """What one surface sends around and for each chunk (:class:`ResponseEvents` is one)."""

    def start(self) -> Iterable[T_co]: ...

    def feed(self, chunk: dict[str, Any]) -> Iterable[T_co]: ...

    def fail(self, err: errors.GatewayError) -> Iterable[T_co]:
        """The frames that end a broken stream (nothing of :meth:`finish` follows them)."""
        ...

    def finish(self) -> Iterable[T_co]: ...


async def guarded_stream(chunks: AsyncIterator[dict[str, Any]], frames: Frames[T], surface: str) -> AsyncIterator[T]:
    """``frames`` for ``chunks``; a failure becomes ``frames.fail`` (the catalog's error) and ends it.

    An unexpected exception is logged with ``surface`` and sent as the catalog's internal
    error, never as a traceback. Closing this generator closes ``chunks`` at once
    (``aclosing``): a client that leaves mid-answer frees the upstream call now, not at GC.
    """
    for frame in frames.start():
        yield frame
    async with aclosing(chunks) as stream:  # type: ignore[type-var]
        try:
            async for chunk in stream:
                for frame in frames.feed(chunk):
                    yield frame
        except errors.GatewayError as err:
            for frame in frames.fail(err):
                yield frame
            return
        except Exception:
            log.exception("%s stream failed", surface)
            for frame in frames.fail(errors.internal_error("stream")):
                yield frame
            return
    for frame in frames.finish():
        yield frame
