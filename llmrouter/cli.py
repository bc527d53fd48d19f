"""``llmrouter serve | infer | chat | generate | train | route | eval``.

Only argparse is imported here: each command imports what it needs when it runs, so that
``llmrouter --help`` never pays for LiteLLM (seconds) or FastAPI.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from llmrouter.commands.options import add_sampling_options
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

    serve = sub.add_parser(
        "serve",
        help="run the OpenClaw gateway (OpenAI-compatible HTTP + WebSocket)",
        description="Run the OpenClaw gateway: one OpenAI-compatible endpoint (/v1/chat/completions, "
        "/v1/responses, /v1/chat/ws, /v1/models, /health) in front of the models under `llms:` in the "
        "YAML config. Clients use `model: auto` (routing) or a model's name. "
        "Try it offline: --replay cassettes/reference.",
    )
    serve.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML config (default: {DEFAULT_CONFIG})")
    serve.add_argument("--host", help="bind address (default: serve.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: serve.port, 8000)")
    prefix = serve.add_mutually_exclusive_group()
    prefix.add_argument("--prefix", dest="prefix", action="store_true", default=None, help="start answers with [model-name]")
    prefix.add_argument("--no-prefix", dest="prefix", action="store_false", help="no [model-name] prefix on answers")
    serve.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"],
        help="least severe log messages shown on standard error (default: info)",
    )

    infer = _config_command(
        sub, "infer", "answer one --query, or a JSONL file of queries",
        "Answer one --query, or every line of an --input JSONL file, with a model of the YAML "
        "config, through call_api(); results are JSONL (one dict per query; a failure is an `error` in it).",
    )
    infer.add_argument("--model", help="model name under `llms:` (default: the first one), or `auto`: router.strategy picks per query")
    source = infer.add_mutually_exclusive_group(required=True)
    source.add_argument("--query", help="one question")
    source.add_argument("--input", help='JSONL file, one {"query": ...} (or {"messages": [...]}) per line')
    infer.add_argument("--output", help="JSONL results file (default: standard output)")
    infer.add_argument("--system-prompt", help="system prompt for every query")
    add_sampling_options(infer, temperature=0.01)
    infer.add_argument("--timeout", type=float, help=f"seconds per call (default: the model's `timeout`, else {CALL_API_TIMEOUT_S:g})")
    infer.add_argument(
        "--max-retries", type=int, default=3,
        help="retries per query after a retryable failure (throttling, timeout, 5xx), with backoff (default: 3)",
    )
    infer.add_argument("--json", action="store_true", help="print the full result dict for --query")

    chat = _config_command(
        sub, "chat", "interactive multi-turn chat that streams answers",
        "Chat with a model of the YAML config in the terminal: answers stream as they come, "
        "the whole conversation goes with each turn; /reset forgets it, /exit or Ctrl-D ends it.",
    )
    chat.add_argument("--model", help="model name under `llms:` (default: the first one)")
    chat.add_argument("--system-prompt", help="system prompt for the conversation")
    add_sampling_options(chat, temperature=0.7)
    chat.add_argument("--timeout", type=float, help=f"seconds per answer (default: the model's `timeout`, else {DEFAULT_TIMEOUT_S:g})")
    # Learned routing: argparse only here; numpy/scikit-learn load when the command runs.
    from llmrouter.commands import eval_router, generate, route, train

    gen = generate.add_parser(sub)
    train.add_parser(sub)
    route.add_parser(sub)
    eval_router.add_parser(sub)
    for command in (serve, infer, chat, gen):
        cassettes = command.add_argument_group("record and replay (upstream traffic as vcrpy cassettes)")
        mode = cassettes.add_mutually_exclusive_group()
        mode.add_argument("--record", metavar="DIR", help="record every upstream exchange into DIR (secrets scrubbed)")
        mode.add_argument("--replay", metavar="DIR", help="answer from the cassettes under DIR; no network at all")
        cassettes.add_argument("--match-body", action="store_true", help="match recordings on the request body too")
    return parser


def _config_command(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A subcommand that talks to the models of a YAML config (``--config``)."""
    command = sub.add_parser(name, help=help, description=description)
    command.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML config (default: {DEFAULT_CONFIG})")
    return command


def _version() -> str:
    from llmrouter import __version__

    return __version__


_OFFLINE_COMMANDS = {
    "train": "llmrouter.commands.train",
    "route": "llmrouter.commands.route",
    "eval": "llmrouter.commands.eval_router",
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 2
    offline = _OFFLINE_COMMANDS.get(args.command)
    if offline is not None:  # no provider calls: no record/replay
        import importlib

        try:
            return importlib.import_module(offline).run_from_cli(args)
        except ImportError as exc:  # numpy / scikit-learn / matplotlib come with an extra
            print(f"error: `llmrouter {args.command}` needs {exc.name}: pip install 'llmrouter[train]'", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
    if args.command == "serve":
        from openclaw_litellm.server import run_from_cli
    elif args.command == "generate":
        try:
            import numpy  # noqa: F401 - the routing data's arrays
        except ImportError:
            print("error: `llmrouter generate` needs numpy: pip install 'llmrouter[train]'", file=sys.stderr)
            return 2
        from llmrouter.commands.generate import run_from_cli
    elif args.command == "infer":
        from llmrouter.commands.infer import run_from_cli
    else:
        from llmrouter.commands.chat import run_from_cli
    from llmrouter.recording import recording

    try:
        with recording(args.record, args.replay, args.match_body):
            if args.replay:
                from llmrouter.replay_prompts import banner

                print(banner(args.replay, args.config, server=args.command == "serve"), file=sys.stderr)
            return run_from_cli(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
