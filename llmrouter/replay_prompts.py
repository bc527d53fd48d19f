"""What ``--replay`` can answer: recordings are matched on the prompt, and listed by model.

A recording answers one question. Replaying it for any prompt ("What is 2+2?" answered with
"Hello! It's nice to meet you") makes a working gateway look broken, so ``--replay`` also
matches the **prompt**: the text of the last user message, in OpenAI's shape (``content`` a
string or text parts) or Bedrock Converse's (``text`` / ``guardContent`` blocks). Everything
else in the body (system prompt, temperature, max tokens) is ignored, so a recorded question
replays whatever the client's other settings. A prompt that was not recorded answers
``replay_not_recorded`` naming the prompts that were (:func:`recorded_hint`).

The recordings a replay loaded are indexed here (:func:`index_recordings`), so that the
startup banner can list, per configured model, the prompts it answers (:func:`describe`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from llmrouter.config import LLMConfig, OpenClawConfig

__all__ = ["Recorded", "describe", "index_recordings", "prompt_matcher", "prompt_of", "recorded_hint"]


@dataclass(frozen=True)
class Recorded:
    """One recorded exchange, as far as a user choosing a prompt cares."""

    host: str
    path: str
    model: str  # the body's ``model`` (OpenAI-compatible) or the model id in a Bedrock path
    stream: bool
    prompt: str | None


_RECORDED: list[Recorded] = []


def _body_json(body: Any) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, OpenAI text parts or Converse blocks."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        guard = part.get("guardContent")
        if isinstance(guard, dict) and isinstance(guard.get("text"), dict):
            # A guardrail's grounding source is context, its query is the question.
            if "query" in (guard["text"].get("qualifiers") or ["query"]):
                texts.append(str(guard["text"].get("text", "")))
    return "\n".join(texts)


def prompt_of(body: Any) -> str | None:
    """The last user message's text in a request body, or None when it has no messages."""
    data = _body_json(body)
    messages = data.get("messages") if data else None
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content")).strip()
    return None


def prompt_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the same prompt (a body without ``messages`` is no evidence either way)."""
    p1, p2 = prompt_of(r1.body), prompt_of(r2.body)
    if p1 is None or p2 is None:
        return
    assert p1 == p2, "prompt differs"


def _recorded(request: Any) -> Recorded:
    parts = urlsplit(request.uri)
    path = parts.path
    data = _body_json(request.body) or {}
    if "/model/" in path:
        model_id = unquote(path.split("/model/", 1)[1].split("/", 1)[0])
        return Recorded(parts.hostname or "", path, model_id, path.endswith("-stream"), prompt_of(request.body))
    return Recorded(parts.hostname or "", path, str(data.get("model", "")), bool(data.get("stream")), prompt_of(request.body))


def index_recordings(requests: list[Any]) -> None:
    """Remember what the replayed cassettes hold (called when they are loaded)."""
    _RECORDED[:] = [_recorded(r) for r in requests]


def _matches(llm: LLMConfig, rec: Recorded) -> bool:
    if llm.is_bedrock:
        if rec.path.rsplit("/", 1)[-1] not in ("converse", "converse-stream"):
            return False
        host = urlsplit(llm.base_url).hostname if llm.base_url else None
        region_ok = rec.host == host if host else (llm.aws_region is None or f".{llm.aws_region}." in rec.host)
        return region_ok and rec.model == llm.model
    return rec.host == urlsplit(llm.base_url or "").hostname and rec.model == llm.model


def _quoted(items: list[Recorded]) -> str:
    """``'prompt' (JSON and streamed)``, one entry per distinct prompt."""
    modes: dict[str, set[bool]] = {}
    for rec in items:
        if rec.prompt:
            modes.setdefault(rec.prompt, set()).add(rec.stream)
    out = []
    for prompt, streams in modes.items():
        shown = prompt if len(prompt) <= 80 else prompt[:77] + "..."
        how = "JSON and streamed" if len(streams) == 2 else ("streamed only" if True in streams else "JSON only")
        out.append(f"{json.dumps(shown)} ({how})")
    return "; ".join(out)


def describe(config: OpenClawConfig) -> list[str]:
    """One line per configured model: the prompts the replay answers, or that it has none."""
    lines = []
    for name, llm in config.llms.items():
        found = [rec for rec in _RECORDED if _matches(llm, rec)]
        listed = _quoted(found)
        lines.append(f"  {name}: {listed}" if listed else f"  {name}: nothing recorded (answers replay_not_recorded)")
    return lines


def recorded_hint(uri: str, body: Any = None) -> str:
    """For an unmatched request: the prompts recorded at the same endpoint (and model)."""
    parts = urlsplit(uri)
    path = parts.path
    data = _body_json(body) or {}
    model = data.get("model")
    if "/model/" in path:  # Bedrock: converse and converse-stream are one model's two modes
        prefix = unquote(path.rsplit("/", 1)[0])
        same = [r for r in _RECORDED if r.host == parts.hostname and unquote(r.path.rsplit("/", 1)[0]) == prefix]
    else:
        same = [r for r in _RECORDED if r.host == parts.hostname and r.path == path and (not model or r.model == model)]
    listed = _quoted(same)
    return f"recorded prompts for this model: {listed}" if listed else "nothing is recorded for this model"


def banner(replay_dir: str, config_path: str | None, *, server: bool = True) -> str:
    """The startup text of ``--replay``: what it is, and per model the prompts it answers
    (``server``: say how a client recognises a replayed answer; the CLI has no headers)."""
    marked = ", marked with the response header x-openclaw-replayed: true" if server else ""
    lines = [
        f"REPLAY MODE: answers are replayed from the recordings in {replay_dir}; no provider is contacted.",
        "Replay matches the prompt (the last user message): each model answers the prompts recorded for it"
        f"{marked}; any other prompt answers replay_not_recorded.",
    ]
    if config_path:
        from llmrouter.config import ConfigError, OpenClawConfig

        try:
            config = OpenClawConfig.from_yaml(config_path)
        except (ConfigError, OSError):  # the command reports it in its own words
            return "\n".join(lines)
        lines.append("Recorded prompts per model:")
        lines += describe(config)
    return "\n".join(lines)
