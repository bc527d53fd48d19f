"""``llmrouter serve | infer | chat``.

Only argparse is imported here: each command imports what it needs when it runs, so that
``llmrouter --help`` never pays for LiteLLM (seconds) or FastAPI.
"""

from __future__ import annotations

import argparse
import sys

from llmrouter.providers import CALL_API_TIMEOUT_S, DEFAULT_TIMEOUT_S

__all__ = ["build_parser", "main"]

DEFAULT_CONFIG = "configs/openclaw_example.yaml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmrouter",
        description="Call LLM providers (AWS Bedrock, NVIDIA NIM, OpenAI, vLLM...) and serve them "
        "behind one OpenAI-compatible endpoint.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the OpenClaw gateway (OpenAI-compatible HTTP + WebSocket)")
    serve.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML config (default: {DEFAULT_CONFIG})")
    serve.add_argument("--host", help="bind address (default: serve.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: serve.port, 8000)")
    prefix = serve.add_mutually_exclusive_group()
    prefix.add_argument("--prefix", dest="prefix", action="store_true", default=None, help="start answers with [model-name]")
    prefix.add_argument("--no-prefix", dest="prefix", action="store_false", help="no [model-name] prefix on answers")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])

    infer = sub.add_parser("infer", help="answer one --query, or a JSONL file of queries")
    infer.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML config (default: {DEFAULT_CONFIG})")
    infer.add_argument("--model", help="model name under `llms:` (default: the first one)")
    source = infer.add_mutually_exclusive_group(required=True)
    source.add_argument("--query", help="one question")
    source.add_argument("--input", help='JSONL file, one {"query": ...} (or {"messages": [...]}) per line')
    infer.add_argument("--output", help="JSONL results file (default: standard output)")
    infer.add_argument("--system-prompt", help="system prompt for every query")
    infer.add_argument("--max-tokens", type=int, default=512)
    infer.add_argument("--temperature", type=float, default=0.01)
    infer.add_argument("--top-p", type=float, default=0.9)
    infer.add_argument("--timeout", type=float, help=f"seconds per call (default: the model's `timeout`, else {CALL_API_TIMEOUT_S:g})")
    infer.add_argument("--max-retries", type=int, default=3)
    infer.add_argument("--json", action="store_true", help="print the full result dict for --query")

    chat = sub.add_parser("chat", help="interactive multi-turn chat that streams answers")
    chat.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML config (default: {DEFAULT_CONFIG})")
    chat.add_argument("--model", help="model name under `llms:` (default: the first one)")
    chat.add_argument("--system-prompt", help="system prompt for the conversation")
    chat.add_argument("--max-tokens", type=int, default=512)
    chat.add_argument("--temperature", type=float, default=0.7)
    chat.add_argument("--top-p", type=float, default=0.9)
    chat.add_argument("--timeout", type=float, help=f"seconds per answer (default: the model's `timeout`, else {DEFAULT_TIMEOUT_S:g})")
    for command in (serve, infer, chat):
        cassettes = command.add_argument_group("record and replay (upstream traffic as vcrpy cassettes)")
        mode = cassettes.add_mutually_exclusive_group()
        mode.add_argument("--record", metavar="DIR", help="record every upstream exchange into DIR (secrets scrubbed)")
        mode.add_argument("--replay", metavar="DIR", help="answer from the cassettes under DIR; no network at all")
        cassettes.add_argument("--match-body", action="store_true", help="match recordings on the request body too")
    return parser


def _version() -> str:
    from llmrouter import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    if args.command == "serve":
        from openclaw_litellm.server import run_from_cli
    elif args.command == "infer":
        from llmrouter.commands.infer import run_from_cli
    else:
        from llmrouter.commands.chat import run_from_cli
    from llmrouter.recording import recording

    try:
        with recording(args.record, args.replay, args.match_body):
            if args.replay:
                print(f"REPLAY MODE: answers are replayed from the recordings in {args.replay}; no provider is contacted.", file=sys.stderr)
            return run_from_cli(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
