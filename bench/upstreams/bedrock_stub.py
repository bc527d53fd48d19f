"""A Bedrock Runtime stub: ``POST /model/{modelId}/converse`` and ``/converse-stream``.

Speaks the wire protocol that boto3 and LiteLLM's Bedrock client expect: Converse JSON, and
ConverseStream as ``application/vnd.amazon.eventstream`` binary frames (prelude and message
CRC32s; ``:event-type`` messageStart, contentBlockDelta, contentBlockStop, messageStop,
metadata). Any SigV4 signature is accepted (none is checked), so dummy AWS credentials work;
point a client at it with an endpoint override (boto3 ``endpoint_url``, LiteLLM
``aws_bedrock_runtime_endpoint``, the gateway's ``base_url`` for a ``provider: bedrock`` model).

Magic model ids answer with Bedrock's real error shapes (``x-amzn-ErrorType`` header and
``{"message": ...}`` body), for tests of the error catalog:

    stub-error-validation   400 ValidationException (invalid model identifier)
    stub-error-access       403 AccessDeniedException (model access not granted)
    stub-error-auth         403 UnrecognizedClientException (bad security token)
    stub-error-throttling   429 ThrottlingException
    stub-error-unavailable  503 ServiceUnavailableException
    stub-error-midstream    (stream only) a messageStart, one delta, then a throttlingException frame

Run it::

    python -m bench.upstreams.bedrock_stub --port 9102 --delay-ms 50 --chunks 20

It prints ``READY bedrock <port> <pid>`` once listening. In tests::

    from bench.upstreams.bedrock_stub import BedrockStub
    with BedrockStub(delay=0.0, chunks=3) as stub:
        client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=stub.url)
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

import orjson

from bench.upstreams._http import Handler, Request, Responder, StubStats, ThreadedServer, run_blocking
from bench.upstreams.eventstream import CONVERSE_STREAM_CONTENT_TYPE, encode_event, encode_exception

__all__ = ["BedrockStub", "BedrockStubConfig", "ERRORS", "make_handler", "main", "run"]

_CORAL = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

# model id -> (HTTP status, x-amzn-ErrorType, message), as Bedrock Runtime sends them
ERRORS: dict[str, tuple[int, str, str]] = {
    "stub-error-validation": (400, "ValidationException", "The provided model identifier is invalid."),
    "stub-error-access": (403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
    "stub-error-auth": (403, "UnrecognizedClientException", "The security token included in the request is invalid."),
    "stub-error-throttling": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "stub-error-unavailable": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
}


@dataclass(frozen=True)
class BedrockStubConfig:
    delay: float = 0.05  # seconds before the answer (Converse) or the first event (ConverseStream)
    chunks: int = 20  # contentBlockDelta events in a stream; Converse returns the same text
    interval: float = 0.0  # seconds between stream events
    input_tokens: int = 12
    require_signature: bool = False  # True: 403 MissingAuthenticationTokenException without SigV4


def _request_id() -> str:
    return str(uuid.uuid4())


def make_handler(config: BedrockStubConfig) -> Callable[[StubStats], Handler]:
    tokens = [f"tok{i} " for i in range(config.chunks)]
    usage = {"inputTokens": config.input_tokens, "outputTokens": config.chunks, "totalTokens": config.input_tokens + config.chunks}
    latency_ms = int(config.delay * 1000 + config.interval * 1000 * config.chunks)
    converse_body = orjson.dumps({
        "metrics": {"latencyMs": latency_ms},
        "output": {"message": {"content": [{"text": "".join(tokens)}], "role": "assistant"}},
        "stopReason": "end_turn",
        "usage": usage,
    })
    start = encode_event("messageStart", {"role": "assistant"})
    deltas = [encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in tokens]
    tail = (
        encode_event("contentBlockStop", {"contentBlockIndex": 0})
        + encode_event("messageStop", {"stopReason": "end_turn"})
        + encode_event("metadata", {"usage": usage, "metrics": {"latencyMs": latency_ms}})
    )

    def error(out: Responder, status: int, kind: str, message: str) -> None:
        out.send(status, [("content-type", "application/json"), ("x-amzn-errortype", kind + _CORAL),
                          ("x-amzn-requestid", _request_id())], orjson.dumps({"message": message}))

    def factory(stats: StubStats) -> Handler:
        async def handle(request: Request, out: Responder) -> None:
            parts = request.path.split("/")
            # /model/{id}/converse  or  /model/{id}/converse-stream
            if request.method == "POST" and len(parts) == 4 and parts[1] == "model" and parts[3] in ("converse", "converse-stream"):
                model_id = unquote(parts[2])
                stream = parts[3] == "converse-stream"
                if config.require_signature and not request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
                    error(out, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
                    return
                try:
                    body = orjson.loads(request.body or b"{}")
                except orjson.JSONDecodeError:
                    error(out, 400, "SerializationException", "The request body is not valid JSON.")
                    return
                if not isinstance(body, dict) or not body.get("messages"):
                    error(out, 400, "ValidationException", "A conversation must start with a user message.")
                    return
                if model_id in ERRORS:
                    error(out, *ERRORS[model_id])
                    return
                if not stream:
                    if config.delay:
                        await asyncio.sleep(config.delay)
                    out.send(200, [("content-type", "application/json"), ("x-amzn-requestid", _request_id())], converse_body)
                    return
                out.start(200, [("content-type", CONVERSE_STREAM_CONTENT_TYPE), ("x-amzn-requestid", _request_id())])
                if config.delay:
                    await asyncio.sleep(config.delay)
                if model_id == "stub-error-midstream":
                    out.chunk(start + deltas[0] if deltas else start)
                    await asyncio.sleep(0)
                    out.chunk(encode_exception("throttlingException", "Too many requests, please wait before trying again."))
                    out.end()
                    return
                if config.interval:
                    out.chunk(start)
                    for delta in deltas:
                        if out.closed:
                            return
                        await asyncio.sleep(config.interval)
                        out.chunk(delta)
                    out.chunk(tail)
                else:
                    out.chunk(start)
                    await asyncio.sleep(0)  # the first event leaves on its own
                    out.chunk(b"".join(deltas) + tail)
                out.end()
            elif request.path in ("/health", "/ping"):
                out.send(200, [("content-type", "application/json")], b'{"status":"ok"}')
            elif request.path == "/stats":
                out.send(200, [("content-type", "application/json")], orjson.dumps({"requests": stats.requests, "signed": stats.signed}))
            else:
                error(out, 404, "UnknownOperationException", f"{request.method} {request.path} is not a Bedrock Runtime operation")

        return handle

    return factory


class BedrockStub(ThreadedServer):
    """The stub in a background thread: ``with BedrockStub() as s: s.url`` (the endpoint URL)."""

    def __init__(self, delay: float = 0.0, chunks: int = 5, interval: float = 0.0, *, require_signature: bool = False,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        config = BedrockStubConfig(delay=delay, chunks=chunks, interval=interval, require_signature=require_signature)
        super().__init__(make_handler(config), host, port)


def run(host: str = "127.0.0.1", port: int = 0, config: BedrockStubConfig | None = None) -> None:
    """Serve in the foreground until SIGTERM / SIGINT."""
    run_blocking(make_handler(config or BedrockStubConfig()), host, port, "bedrock")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A Bedrock Runtime Converse / ConverseStream stub (any SigV4 signature accepted).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed in the READY line)")
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--interval-ms", type=float, default=0.0)
    parser.add_argument("--require-signature", action="store_true", help="403 for requests without a SigV4 Authorization header")
    args = parser.parse_args(argv)
    run(args.host, args.port, BedrockStubConfig(delay=args.delay_ms / 1000, chunks=args.chunks, interval=args.interval_ms / 1000,
                                                 require_signature=args.require_signature))


if __name__ == "__main__":
    main()
