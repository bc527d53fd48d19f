"""``/v1/chat/ws``: chat completions streamed over one long-lived WebSocket.

Protocol (kept from the original OpenClaw Router so its clients work): the client sends a
text frame holding a JSON body shaped like ``POST /v1/chat/completions``; the server answers
with text frames ``data: {chat.completion.chunk}\\n\\n`` and ends with ``data: [DONE]\\n\\n``.
A failure is a ``data: {"error": {...}}\\n\\n`` frame (the catalog's text), also followed by
``data: [DONE]\\n\\n`` so the client always knows the request is over.

Beyond the original: the connection stays open for the next request (one after another; a
frame sent while an answer streams waits its turn); a malformed frame (not JSON, wrong types,
an unknown model, too large) costs that request, not the connection. Every request field
works as over HTTP, and the answer is always streamed (``stream`` is ignored), shaped by the
same code as SSE: routing, fallbacks, the model prefix and the usage chunk
(``serve.usage_chunk``, ``stream_options.include_usage``) behave identically.

The socket is read all the time, not only between answers: frames that arrive during an
answer are queued (at most :data:`MAX_PENDING`; beyond that reading pauses, which is the
client's backpressure), and a client that leaves is noticed at once, even while the upstream
is silent, which cancels its answer and closes the upstream call.

Size: a frame is checked (in UTF-8 bytes, as ``serve.max_body_bytes`` counts an HTTP body)
as soon as it is read, so the queue holds only frames within the limit. The server itself
(:func:`max_message_bytes`, uvicorn's ``ws_max_size``) refuses messages beyond the limit plus
a little slack by closing the connection (1009); the slack lets a frame that is only a little
too large get the error frame instead, and costs no more than that request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import aclosing
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from llmrouter import errors
from openclaw_litellm import sse
from openclaw_litellm.completions import ChatService
from openclaw_litellm.guarded_stream import guarded_stream
from openclaw_litellm.schemas import parse_chat_request

__all__ = ["add_websocket_route", "max_message_bytes"]

log = logging.getLogger("openclaw.websocket")

MAX_PENDING = 16  # frames read ahead while an answer streams
FRAME_SLACK = 64 * 1024  # bytes beyond serve.max_body_bytes that still get an error frame, not a close


def max_message_bytes(limit: int) -> int:
    """The largest WebSocket message the server should accept at all (uvicorn's ``ws_max_size``)."""
    return limit + FRAME_SLACK


def add_websocket_route(app: FastAPI, service: ChatService) -> None:
    serve = app.state.config.serve

    @app.websocket("/v1/chat/ws")
    async def chat_ws(ws: WebSocket) -> None:
        await ws.accept()
        await _Connection(ws, service, serve.max_body_bytes, serve.usage_chunk).run()


class _Connection:
    """One client: a reader task fills the inbox; requests are answered one at a time."""

    def __init__(self, ws: WebSocket, service: ChatService, limit: int, usage_chunk: str) -> None:
        self.ws = ws
        self.service = service
        self.limit = limit
        self.usage_chunk = usage_chunk
        # A frame's text, or the error that answers it (too large, not UTF-8); None: the client left.
        self.inbox: asyncio.Queue[str | errors.GatewayError | None] = asyncio.Queue()
        self.room = asyncio.Semaphore(MAX_PENDING)
        self.answering: asyncio.Task[None] | None = None
        self.gone = False

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            while (text := await self.inbox.get()) is not None:
                self.room.release()
                if isinstance(text, errors.GatewayError):
                    await _send_error(self.ws, text)
                    continue
                self.answering = asyncio.create_task(_serve_one(self.ws, self.service, text, self.usage_chunk))
                try:
                    await self.answering
                except asyncio.CancelledError:
                    if self.gone:  # the reader cancelled the answer: the client left
                        return
                    raise
                finally:
                    self.answering = None
        except WebSocketDisconnect:
            return
        except (RuntimeError, OSError):  # sending on a socket the client has just closed
            if not self.gone:
                log.exception("websocket connection failed")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read(self) -> None:
        try:
            while True:
                await self.room.acquire()
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                # Checked now: an oversize frame is not kept while it waits its turn.
                self.inbox.put_nowait(self._text(message))
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self.gone = True
            if self.answering is not None:
                self.answering.cancel()
            self.inbox.put_nowait(None)

    def _text(self, message: dict[str, Any]) -> str | errors.GatewayError:
        """The frame's text, or the error frame that answers it. The limit counts bytes."""
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            if len(data) > self.limit:
                return self._too_large()
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                return errors.bad_request("Frames must be UTF-8 JSON text")
        # A character is 1 to 4 UTF-8 bytes: encode only when the count alone cannot tell.
        if len(text) > self.limit or (len(text) * 4 > self.limit and len(text.encode("utf-8")) > self.limit):
            return self._too_large()
        return text

    def _too_large(self) -> errors.GatewayError:
        return errors.bad_request(f"The frame is larger than {self.limit} bytes (serve.max_body_bytes)")


async def _serve_one(ws: WebSocket, service: ChatService, text: str, usage_chunk: str) -> None:
    """One request: its chunks then ``[DONE]``, or an error frame then ``[DONE]``."""
    try:
        request = parse_chat_request(text)
        request.apply_usage_policy(usage_chunk)  # serve.usage_chunk, as over SSE
        streamed = await service.stream(request)
    except errors.GatewayError as err:
        await _send_error(ws, err)
        return
    except Exception:
        log.exception("websocket request failed before streaming")
        await _send_error(ws, errors.internal_error())
        return
    # aclosing: when the client leaves (this task is cancelled) the upstream call closes now.
    async with aclosing(guarded_stream(streamed.chunks, sse.ChatFrames(), "websocket")) as frames:
        async for frame in frames:
            await ws.send_text(frame.decode())


async def _send_error(ws: WebSocket, err: errors.GatewayError) -> None:
    """The error frame and ``[DONE]``, as a stream that breaks ends."""
    for frame in sse.ChatFrames().fail(err):
        await ws.send_text(frame.decode())
