"""``/v1/chat/ws``: chat completions streamed over one long-lived WebSocket.

Protocol (kept from the original OpenClaw Router so its clients work): the client sends a
text frame holding a JSON body shaped like ``POST /v1/chat/completions``; the server answers
with text frames ``data: {chat.completion.chunk}\\n\\n`` and ends with ``data: [DONE]\\n\\n``.
A failure is a ``data: {"error": {...}}\\n\\n`` frame (the catalog's text), also followed by
``data: [DONE]\\n\\n`` so the client always knows the request is over. The connection stays
open for the next request; a malformed frame costs that request, not the connection.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from llmrouter import errors
from openclaw_litellm import sse
from openclaw_litellm.completions import ChatService
from openclaw_litellm.schemas import parse_chat_request

__all__ = ["add_websocket_route"]

log = logging.getLogger("openclaw.websocket")


def add_websocket_route(app: FastAPI, service: ChatService) -> None:
    limit = app.state.config.serve.max_body_bytes

    @app.websocket("/v1/chat/ws")
    async def chat_ws(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    raw = message.get("bytes") or b""
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        await _send_error(ws, errors.bad_request("Frames must be UTF-8 JSON text"))
                        continue
                if len(text) > limit:
                    await _send_error(ws, errors.bad_request(f"The frame is larger than {limit} bytes (serve.max_body_bytes)"))
                    continue
                await _serve_one(ws, service, text)
        except WebSocketDisconnect:
            return


async def _serve_one(ws: WebSocket, service: ChatService, text: str) -> None:
    try:
        request = parse_chat_request(text)
        streamed = await service.stream(request)
    except errors.GatewayError as err:
        await _send_error(ws, err)
        return
    try:
        async for chunk in streamed.chunks:
            await ws.send_text(sse.encode(chunk).decode())
    except errors.GatewayError as err:
        await _send_error(ws, err)
        return
    await ws.send_text(sse.DONE.decode())


async def _send_error(ws: WebSocket, err: errors.GatewayError) -> None:
    await ws.send_text(sse.encode_error(err).decode())
    await ws.send_text(sse.DONE.decode())
