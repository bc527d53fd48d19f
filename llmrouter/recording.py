"""Record upstream traffic to cassettes, and replay it with no network at all.

``--record DIR`` writes every upstream HTTP exchange (direct HTTP and Bedrock through
LiteLLM: both use httpx, which vcrpy patches) into ``DIR``, one YAML file per upstream model
(``DIR/<model id>.yaml``), so a recording can be refreshed or deleted model by model.
Secrets are scrubbed *before* anything is written: credential headers are dropped and every
registered secret (configured API keys, AWS secret key, session token) is masked in URLs and
bodies.

``--replay DIR`` loads every ``*.yaml`` under ``DIR`` (recursively, so a tree of cassettes
from several sources works) and serves upstream calls from them. Matching is on method + URI
(SigV4 headers change every call) plus, for OpenAI-compatible calls, the ``model`` and
``stream`` fields of the body (one URL serves them all), plus the prompt (the last user
message: :mod:`llmrouter.replay_prompts`); optionally on the whole body. Recorded bodies are replayed
byte for byte: Bedrock event-stream frames carry CRC32 checksums.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from llmrouter import replay_prompts
from llmrouter.secrets import redact, secret_values

__all__ = ["REPLAYED_HEADER", "SCRUBBED_HEADERS", "recording", "replay_active", "replay_dummy_aws_credentials"]

# Marks an HTTP answer that came from a recording, not from the provider.
REPLAYED_HEADER = "x-openclaw-replayed"
_replaying: list[str] = []  # the --replay directories in effect (a stack: nested blocks)

# Headers that carry credentials or per-call signing material; never written to a cassette.
SCRUBBED_HEADERS = (
    "authorization",
    "x-api-key",
    "api-key",
    "x-amz-security-token",
    "x-amz-date",
    "x-amz-content-sha256",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
    "cookie",
    "set-cookie",
)
URI_MATCH = ["method", "scheme", "host", "port", "path", "query", "model_and_stream"]
REPLAY_MATCH = [*URI_MATCH, "prompt"]
_BEDROCK_PATH = re.compile(r"/model/([^/]+)/(converse|converse-stream|invoke|invoke-with-response-stream)$")


def _model_key(request: Any) -> str:
    """The upstream model an exchange belongs to, as a safe file name."""
    match = _BEDROCK_PATH.search(urlsplit(request.uri).path)
    if match:
        name = unquote(match.group(1))
    else:
        name = ""
        body = request.body
        if body:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            found = re.search(r'"model"\s*:\s*"([^"]+)"', text)
            name = found.group(1) if found else ""
        name = name or urlsplit(request.uri).hostname or "upstream"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "upstream"


def _json_body(request: Any) -> dict[str, Any] | None:
    body = request.body
    if not body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def model_and_stream_matcher(r1: Any, r2: Any) -> None:
    """OpenAI-compatible providers serve every model, streamed or not, at one URL: the
    ``model`` and ``stream`` fields of the JSON body tell the recordings apart."""
    b1, b2 = _json_body(r1), _json_body(r2)
    if b1 is None or b2 is None or "model" not in b1 or "model" not in b2:
        return
    assert b1.get("model") == b2.get("model"), "model differs"
    assert bool(b1.get("stream")) == bool(b2.get("stream")), "stream differs"


def _scrub_bytes(body: bytes) -> bytes:
    for secret in secret_values():
        raw = secret.encode()
        if raw in body:
            # Same length keeps framing intact; secrecy wins over a now-broken checksum.
            body = body.replace(raw, b"*" * len(raw))
    return body


def _scrub_request(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() in SCRUBBED_HEADERS:
            del request.headers[name]
    request.uri = redact(request.uri)
    if isinstance(request.body, bytes):
        request.body = _scrub_bytes(request.body)
    elif isinstance(request.body, str):
        request.body = redact(request.body)
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in SCRUBBED_HEADERS:
            del headers[name]
    body = response.get("body") or {}
    content = body.get("string")
    if isinstance(content, bytes):
        body["string"] = _scrub_bytes(content)
    elif isinstance(content, str):
        body["string"] = redact(content)
    return response


class DirectoryPersister:
    """vcrpy persister whose "cassette" is a directory: one file per upstream model."""

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> tuple[list[Any], list[Any]]:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        files = sorted(Path(cassette_path).rglob("*.yaml")) + sorted(Path(cassette_path).rglob("*.yml"))
        requests: list[Any] = []
        responses: list[Any] = []
        for file in files:
            loaded = deserialize(file.read_text(encoding="utf-8"), serializer)
            requests.extend(loaded[0])
            responses.extend(loaded[1])
        if not requests:
            raise CassetteNotFoundError()
        replay_prompts.index_recordings(requests)  # for the banner and replay_not_recorded
        return requests, responses

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: dict[str, Any], serializer: Any) -> None:
        from vcr.serialize import serialize

        groups: dict[str, dict[str, list[Any]]] = {}
        for request, response in zip(cassette_dict["requests"], cassette_dict["responses"], strict=True):
            group = groups.setdefault(_model_key(request), {"requests": [], "responses": []})
            group["requests"].append(request)
            group["responses"].append(response)
        folder = Path(cassette_path)
        folder.mkdir(parents=True, exist_ok=True)
        for key, group in groups.items():
            (folder / f"{key}.yaml").write_text(serialize(group, serializer), encoding="utf-8")


def replay_dummy_aws_credentials() -> None:
    """Replay needs no AWS account, but LiteLLM signs requests: give it throwaway keys."""
    try:
        import botocore.session

        if botocore.session.get_session().get_credentials() is not None:
            return
    except Exception:
        pass
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "REPLAYONLYNOTAKEY")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "replay-only-not-a-secret")


@contextlib.contextmanager
def recording(record_dir: str | None = None, replay_dir: str | None = None, match_body: bool = False) -> Iterator[None]:
    """Within this block, upstream HTTP is recorded to / replayed from cassettes (or untouched)."""
    if not record_dir and not replay_dir:
        yield
        return
    if record_dir and replay_dir:
        raise ValueError("--record and --replay cannot be used together")
    import vcr

    if replay_dir and not Path(replay_dir).is_dir():
        raise FileNotFoundError(f"--replay {replay_dir}: no such directory of cassettes")
    player = vcr.VCR(
        record_mode="all" if record_dir else "none",
        match_on=(REPLAY_MATCH if replay_dir else URI_MATCH) + (["body"] if match_body else []),
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=False,
    )
    player.register_persister(DirectoryPersister)
    player.register_matcher("model_and_stream", model_and_stream_matcher)
    player.register_matcher("prompt", replay_prompts.prompt_matcher)
    if replay_dir:
        replay_dummy_aws_credentials()
        _replaying.append(replay_dir)
    try:
        # Repeats: a replayed demo answers the same question as often as it is asked.
        with player.use_cassette(str(record_dir or replay_dir), allow_playback_repeats=bool(replay_dir)):
            yield
    finally:
        if replay_dir:
            _replaying.pop()


def replay_active() -> bool:
    """True inside a ``recording(replay_dir=...)`` block: upstream answers are recordings."""
    return bool(_replaying)
