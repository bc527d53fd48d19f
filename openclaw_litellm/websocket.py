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
from openclaw_litellm.schemas import parse_chat_request

__all__ = ["add_websocket_route"]

log = logging.getLogger("openclaw.websocket")

DONE = sse.DONE.decode()
MAX_PENDING = 16  # frames read ahead while an answer streams


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
        self.inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.room = asyncio.Semaphore(MAX_PENDING)
        self.answering: asyncio.Task[None] | None = None
        self.gone = False

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            while (message := await self.inbox.get()) is not None:
                self.room.release()
                text = self._text(message)
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
                self.inbox.put_nowait(message)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self.gone = True
            if self.answering is not None:
                self.answering.cancel()
            self.inbox.put_nowait(None)

    def _text(self, message: dict[str, Any]) -> str | errors.GatewayError:
        text = message.get("text")
        if text is None:
            try:
                text = (message.get("bytes") or b"").decode("utf-8")
            except UnicodeDecodeError:
                return errors.bad_request("Frames must be UTF-8 JSON text")
        if len(text) > self.limit:
            return errors.bad_request(f"The frame is larger than {self.limit} bytes (serve.max_body_bytes)")
        return text


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
    async with aclosing(streamed.chunks) as chunks:  # type: ignore[type-var]
        try:
            async for chunk in chunks:
                await ws.send_text(sse.encode(chunk).decode())
        except WebSocketDisconnect:
            raise
        except errors.GatewayError as err:
            await _send_error(ws, err)
            return
        except Exception:
            log.exception("websocket stream failed")
            await _send_error(ws, errors.internal_error("stream"))
            return
    await ws.send_text(DONE)


async def _send_error(ws: WebSocket, err: errors.GatewayError) -> None:
    await ws.send_text(sse.encode_error(err).decode())
    await ws.send_text(DONE)
