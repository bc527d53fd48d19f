"""``llmrouter chat``: a multi-turn conversation that streams each answer as it is written.

Lines are read from standard input (the ``you> `` prompt only on a terminal, so the command
can be scripted with a pipe). The whole conversation (system prompt first) is sent on every
turn through :func:`~llmrouter.utils.api_calling.astream_chat`, the same streaming core the
server uses, for Bedrock and OpenAI-compatible models alike. Answers go to standard output
token by token; errors go to standard error as ``error: ...`` and the conversation carries on
without the failed turn.

Commands: ``/reset`` forgets the conversation, ``/exit`` (or ``/quit``, or end of input) ends
it. Ctrl-C while an answer streams stops that answer. Exit code: 0, or 1 if any turn failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any, TextIO

from llmrouter.commands import EXIT_FAILED, CommandError, ModelChoice, print_error, select_model, setup_logging
from llmrouter.providers import DEFAULT_TIMEOUT_S

__all__ = ["Conversation", "run_from_cli"]

_HELP = "/reset forgets the conversation, /exit quits"


class Conversation:
    """The messages sent on every turn: the system prompt, then user/assistant pairs."""

    def __init__(self, system_prompt: str | None = None) -> None:
        self.system_prompt = system_prompt
        self.messages: list[dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        self.messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []

    def with_user(self, text: str) -> list[dict[str, Any]]:
        """The messages for a turn that asks ``text`` (history is unchanged until it succeeds)."""
        return [*self.messages, {"role": "user", "content": text}]

    def commit(self, user: str, assistant: str) -> None:
        self.messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


def run_from_cli(args: argparse.Namespace) -> int:
    setup_logging()
    try:
        choice = select_model(args.config, args.model)
    except CommandError as exc:
        print_error(exc.message)
        return exc.exit_code
    return _Repl(args, choice).run()


class _Repl:
    def __init__(self, args: argparse.Namespace, choice: ModelChoice) -> None:
        from llmrouter.utils.api_calling import resolve_api_keys

        self.args = args
        self.choice = choice
        # Same keys as `infer`: exactly the configured ones (none is none, never the env's).
        self.api_keys = resolve_api_keys(choice.api_keys_env)
        self.conversation = Conversation(args.system_prompt)
        self.interactive = sys.stdin.isatty()
        self.out: TextIO = sys.stdout
        self.failures = 0
        self._line_open = False  # part of an answer is on stdout without its newline
        # The session runs the event loop, so it owns the pooled HTTP client (closed in _close);
        # Bedrock goes through LiteLLM, which brings its own.
        self.client: Any = None
        if not choice.llm.is_bedrock:
            from llmrouter.utils.http_client import pooled_client

            self.client = pooled_client()

    def run(self) -> int:
        if self.interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401 - line editing and history for input()
            print(f"Chatting with {self.choice.describe()}. {_HELP}.", file=sys.stderr, flush=True)
            if self.choice.llm.is_bedrock:
                self._warm_up_litellm()
        # One event loop for the whole session: the pooled HTTP client lives across turns.
        loop = asyncio.new_event_loop()
        try:
            while True:
                line = self._read()
                if line is None:
                    break
                text = line.strip()
                if not text:
                    continue
                if text in ("/exit", "/quit"):
                    break
                if text == "/reset":
                    self.conversation.reset()
                    print("(conversation cleared)", file=sys.stderr, flush=True)
                    continue
                if text == "/help":
                    print(_HELP, file=sys.stderr, flush=True)
                    continue
                self._turn(loop, line.rstrip("\r\n"))
        finally:
            self._close(loop)
        return EXIT_FAILED if self.failures else 0

    def _read(self) -> str | None:
        """The next line, or None at end of input (Ctrl-D on a terminal)."""
        if self.interactive:
            try:
                return input("you> ")
            except EOFError:
                print(file=sys.stderr)
                return None
        line = sys.stdin.readline()
        return line if line else None

    def _turn(self, loop: asyncio.AbstractEventLoop, text: str) -> None:
        from llmrouter import errors
        from llmrouter.utils.chat_call import from_request

        request = {**self.choice.request, "messages": self.conversation.with_user(text)}
        task: asyncio.Task[tuple[str, str | None]] | None = None
        try:
            call = from_request(
                request,
                api_keys=self.api_keys,
                max_tokens=self.args.max_tokens,
                temperature=self.args.temperature,
                top_p=self.args.top_p,
                timeout=self.choice.timeout(self.args.timeout, DEFAULT_TIMEOUT_S),
            )
            task = loop.create_task(self._stream(call))
            answer, finish = loop.run_until_complete(task)
        except KeyboardInterrupt:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
            self._end_line()
            print("(interrupted; this turn is forgotten)", file=sys.stderr, flush=True)
            return
        except Exception as exc:
            self._end_line()
            provider = self.choice.llm.provider_label
            err = errors.classify(exc, provider=provider, model_id=self.choice.llm.model, region=self.choice.llm.aws_region)
            print_error(err.message)
            self.failures += 1
            return
        self._end_line(force=True)
        if finish == "length":
            print(f"(answer cut at {self.args.max_tokens} tokens; raise --max-tokens)", file=sys.stderr, flush=True)
        elif finish == "content_filter":
            print("(the provider's content filter stopped this answer)", file=sys.stderr, flush=True)
        self.conversation.commit(text, answer)

    async def _stream(self, call: Any) -> tuple[str, str | None]:
        """Write the answer as it streams; return its text and finish reason."""
        from llmrouter.utils.api_calling import astream_chat

        parts: list[str] = []
        finish: str | None = None
        async for chunk in astream_chat(call, max_retries=self.choice.config.router.max_retries, client=self.client):
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    self.out.write(piece)
                    self.out.flush()
                    parts.append(piece)
                    self._line_open = True
                finish = choice.get("finish_reason") or finish
        return "".join(parts), finish

    def _end_line(self, force: bool = False) -> None:
        """End the answer's line on standard output (always after a complete answer)."""
        if self._line_open or force:
            self.out.write("\n")
            self.out.flush()
        self._line_open = False

    @staticmethod
    def _warm_up_litellm() -> None:
        """Import LiteLLM (seconds) in the background while the user types the first line."""
        import threading

        from llmrouter.utils.litellm_setup import load_litellm

        threading.Thread(target=load_litellm, name="litellm-warmup", daemon=True).start()

    def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(Exception):
            if self.client is not None:
                loop.run_until_complete(self.client.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
