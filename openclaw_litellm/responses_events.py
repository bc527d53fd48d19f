"""Chat answers as Responses API objects: the ``response`` and its streamed event sequence.

:class:`ResponseEvents` turns the ``chat.completion.chunk`` dicts the gateway streams into
the events OpenAI's Responses API sends, in OpenAI's order::

    response.created, response.in_progress
    per output item (a message, or one per tool call), one open at a time:
      response.output_item.added
      message:   response.content_part.added, response.output_text.delta...,
                 response.output_text.done, response.content_part.done
      tool call: response.function_call_arguments.delta..., response.function_call_arguments.done
      response.output_item.done
    response.completed (usage included), or response.incomplete (max_output_tokens,
    content_filter), or response.failed (the stream broke)

An item opens on its first delta and closes when the next one opens or the answer ends, as
OpenAI's items do; providers stream a message's text before its tool calls and tool calls one
after another, so nothing arrives for an item once it is closed. Every event carries a
``sequence_number``; ids are ``resp_``, ``msg_`` and ``fc_`` plus random hex, while a tool
call's ``call_id`` is the provider's tool-call id, passed through.

:func:`response_from_completion` builds the same final ``response`` from a non-streamed
``chat.completion``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from llmrouter.errors import GatewayError
from llmrouter.utils.openai_shapes import usage_cache_counts

__all__ = ["ResponseEvents", "new_response", "response_from_completion", "responses_usage"]

Event = dict[str, Any]

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def responses_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    """Chat usage as the Responses API's ``usage`` (reasoning unknown: 0).

    ``input_tokens_details.cached_tokens`` is the prompt-cache read; ``cache_write_tokens`` the
    write, when the provider said it (OpenClaw reads it there and prices it as a cache write).
    """
    usage = usage or {}
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    cached, written = usage_cache_counts(usage)
    details = {"cached_tokens": cached}
    if "cache_write_tokens" in (usage.get("prompt_tokens_details") or {}):
        details["cache_write_tokens"] = written
    return {
        "input_tokens": prompt,
        "input_tokens_details": details,
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }


def new_response(model: str, echo: dict[str, Any]) -> dict[str, Any]:
    """An ``in_progress`` response object; ``echo`` holds the request fields it repeats."""
    return {
        "id": _id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": echo.get("instructions"),
        "max_output_tokens": echo.get("max_output_tokens"),
        "model": model,
        "output": [],
        "parallel_tool_calls": echo.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": (echo.get("reasoning") or {}).get("effort"), "summary": None},
        "store": False,
        "temperature": echo.get("temperature"),
        "text": echo.get("text") or {"format": {"type": "text"}},
        "tool_choice": echo.get("tool_choice", "auto"),
        "tools": echo.get("tools") or [],
        "top_p": echo.get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "user": echo.get("user"),
        "metadata": echo.get("metadata") or {},
    }


def _finish(response: dict[str, Any], finish_reason: str | None, usage: dict[str, int] | None) -> str:
    """Set the final status and usage; returns the terminal event's type."""
    response["usage"] = responses_usage(usage)
    reason = _INCOMPLETE.get(finish_reason or "")
    if reason is not None:
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": reason}
        return "response.incomplete"
    response["status"] = "completed"
    return "response.completed"


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" else []
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def _call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {"id": item_id, "type": "function_call", "status": status, "call_id": call_id, "name": name, "arguments": arguments}


def response_from_completion(completion: dict[str, Any], echo: dict[str, Any]) -> dict[str, Any]:
    """The final ``response`` object for a non-streamed chat completion."""
    response = new_response(completion.get("model") or "", echo)
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    if message.get("content"):
        response["output"].append(_message_item(_id("msg"), message["content"], "completed"))
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        response["output"].append(_call_item(_id("fc"), call.get("id") or _id("call"), fn.get("name") or "", fn.get("arguments") or "", "completed"))
    _finish(response, choice.get("finish_reason"), completion.get("usage"))
    return response


class ResponseEvents:
    """The event sequence of one streamed response (see the module docstring)."""

    def __init__(self, model: str, echo: dict[str, Any]) -> None:
        self.response = new_response(model, echo)
        self._sequence = 0
        self._open: dict[str, Any] | None = None  # the item being streamed, with its state
        self._calls: dict[int, dict[str, Any]] = {}  # chat tool-call index -> its item state
        self._finish_reason: str | None = None
        self._usage: dict[str, int] | None = None

    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _snapshot(self) -> dict[str, Any]:
        return dict(self.response, output=list(self.response["output"]))

    def start(self) -> list[Event]:
        return [self._event("response.created", response=self._snapshot()),
                self._event("response.in_progress", response=self._snapshot())]

    # --- items -----------------------------------------------------------------------------

    def _close(self, status: str = "completed") -> list[Event]:
        """Close the open item; ``incomplete`` when the stream broke in the middle of it."""
        state, self._open = self._open, None
        if state is None:
            return []
        index, item_id = state["output_index"], state["id"]
        if state["kind"] == "message":
            text = state["text"]
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            item = _message_item(item_id, text, "completed")
            item["status"] = status
            events = [
                self._event("response.output_text.done", item_id=item_id, output_index=index, content_index=0, text=text, logprobs=[]),
                self._event("response.content_part.done", item_id=item_id, output_index=index, content_index=0, part=part),
            ]
        else:
            args = state["arguments"]
            item = _call_item(item_id, state["call_id"], state["name"], args, status)
            events = [self._event("response.function_call_arguments.done", item_id=item_id, output_index=index,
                                  name=state["name"], arguments=args)]
        self.response["output"].append(item)
        events.append(self._event("response.output_item.done", output_index=index, item=item))
        return events

    def _open_item(self, state: dict[str, Any]) -> list[Event]:
        events = self._close()
        state["output_index"] = len(self.response["output"])
        self._open = state
        if state["kind"] == "message":
            item = _message_item(state["id"], "", "in_progress")
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events.append(self._event("response.output_item.added", output_index=state["output_index"], item=item))
            events.append(self._event("response.content_part.added", item_id=state["id"], output_index=state["output_index"],
                                      content_index=0, part=part))
        else:
            item = _call_item(state["id"], state["call_id"], state["name"], "", "in_progress")
            events.append(self._event("response.output_item.added", output_index=state["output_index"], item=item))
        return events

    def _text(self, delta: str) -> list[Event]:
        events: list[Event] = []
        if self._open is None or self._open["kind"] != "message":
            events = self._open_item({"kind": "message", "id": _id("msg"), "text": ""})
        state = self._open
        assert state is not None
        state["text"] += delta
        events.append(self._event("response.output_text.delta", item_id=state["id"], output_index=state["output_index"],
                                  content_index=0, delta=delta, logprobs=[]))
        return events

    def _tool_call(self, call: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        index = call.get("index", 0)
        fn = call.get("function") or {}
        state = self._calls.get(index)
        if state is None:
            state = {"kind": "call", "id": _id("fc"), "call_id": call.get("id") or _id("call"),
                     "name": fn.get("name") or "", "arguments": ""}
            self._calls[index] = state
            events = self._open_item(state)
        elif fn.get("name") and not state["name"]:
            state["name"] = fn["name"]
        fragment = fn.get("arguments") or ""
        if fragment:
            state["arguments"] += fragment
            if state is self._open:
                events.append(self._event("response.function_call_arguments.delta", item_id=state["id"],
                                          output_index=state["output_index"], delta=fragment))
        return events

    # --- chunks ----------------------------------------------------------------------------

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        """The events for one ``chat.completion.chunk`` (often none)."""
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        events: list[Event] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                events += self._text(delta["content"])
            for call in delta.get("tool_calls") or ():
                events += self._tool_call(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[Event]:
        """Close the open item; ``response.completed`` (or ``.incomplete``) with usage."""
        events = self._close()
        terminal = _finish(self.response, self._finish_reason, self._usage)
        events.append(self._event(terminal, response=self._snapshot()))
        return events

    def fail(self, err: GatewayError) -> list[Event]:
        """The stream broke after it started: ``response.failed`` with the catalog's error."""
        events = self._close("incomplete")
        self.response["status"] = "failed"
        self.response["error"] = {"code": err.code, "message": err.message}
        self.response["usage"] = responses_usage(self._usage) if self._usage else None
        events.append(self._event("response.failed", response=self._snapshot()))
        return events
