"""``llmrouter infer``: answer one ``--query``, or every line of a JSONL ``--input`` file.

One query goes through :func:`~llmrouter.utils.api_calling.call_api` and prints the answer
(or, with ``--json``, the whole result dict). A JSONL file is answered concurrently (at most
``BATCH_CONCURRENCY`` calls in flight, :mod:`llmrouter.utils.batching`) with a progress bar on standard error; results are
written one JSON object per line, in input order, as soon as their turn comes. A bad line
becomes a result with an ``error`` and never stops the batch.

Exit code: 0 when everything was answered, 1 when any call failed, 2 for usage problems.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from llmrouter.commands import EXIT_FAILED, CommandError, ModelChoice, print_error, select_model, setup_logging
from llmrouter.providers import CALL_API_TIMEOUT_S

__all__ = ["build_request", "parse_jsonl", "run_from_cli"]


def run_from_cli(args: argparse.Namespace) -> int:
    setup_logging()
    try:
        choice = select_model(args.config, args.model)
        if args.query is not None:
            return _answer_query(args, choice)
        return _answer_file(args, choice)
    except CommandError as exc:
        print_error(exc.message)
        return exc.exit_code


def _call_options(args: argparse.Namespace, choice: ModelChoice) -> dict[str, Any]:
    return {
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "timeout": choice.timeout(args.timeout, CALL_API_TIMEOUT_S),
        "max_retries": args.max_retries,
    }


def _dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, ensure_ascii=False, default=str)


# --- one query ------------------------------------------------------------------------------


def _answer_query(args: argparse.Namespace, choice: ModelChoice) -> int:
    from llmrouter.utils.api_calling import call_api

    request = {**choice.request, "query": args.query}
    if args.system_prompt:
        request["system_prompt"] = args.system_prompt
    result = call_api(request, api_keys_env=choice.api_keys_env, **_call_options(args, choice))
    if args.json:
        print(_dumps(result), flush=True)
    if result.get("error"):
        print_error(result["error"])
        return EXIT_FAILED
    if not args.json:
        print(result.get("response", ""), flush=True)
    return 0


# --- a JSONL file ---------------------------------------------------------------------------


def build_request(item: dict[str, Any], choice: ModelChoice, system_prompt: str | None) -> dict[str, Any]:
    """The call_api request for one input object: its own keys (echoed), then the model's.

    The configured model decides where the call goes (``api_name``, ``service``, endpoint,
    region); everything else on the line (``query``/``messages``, ``system_prompt``,
    ``max_tokens``, ids...) is kept and comes back in the result.
    """
    request = {**item, **choice.request}
    if system_prompt and not item.get("system_prompt") and not item.get("messages"):
        request["system_prompt"] = system_prompt
    return request


def parse_jsonl(lines: Iterator[str], source: str) -> list[tuple[int, dict[str, Any] | Exception]]:
    """``(line number, JSON object or the catalog error describing the line)``, blanks skipped."""
    from llmrouter import errors

    entries: list[tuple[int, dict[str, Any] | Exception]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            entries.append((number, errors.bad_request(f"{source}, line {number}: not valid JSON ({exc.msg}, column {exc.colno})")))
            continue
        if not isinstance(item, dict):
            message = f"{source}, line {number}: expected a JSON object such as {{\"query\": \"...\"}}"
            entries.append((number, errors.bad_request(message)))
            continue
        entries.append((number, item))
    return entries


@contextlib.contextmanager
def _open_output(path: str | None) -> Iterator[IO[str]]:
    if not path or path == "-":
        yield sys.stdout
        return
    try:
        handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CommandError(f"cannot write the results file {path}: {exc.strerror or exc}") from None
    with handle:
        yield handle


def _read_input(path: str) -> list[str]:
    if path == "-":
        return sys.stdin.read().splitlines()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read the input file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _answer_file(args: argparse.Namespace, choice: ModelChoice) -> int:
    entries = parse_jsonl(iter(_read_input(args.input)), args.input)
    with _open_output(args.output) as out:
        results = asyncio.run(_run_batch(entries, args, choice, out))
    failed = sum(1 for r in results if r.get("error"))
    where = f"; results in {args.output}" if args.output and args.output != "-" else ""
    print(f"{len(results) - failed} ok, {failed} failed{where}", file=sys.stderr, flush=True)
    return EXIT_FAILED if failed else 0


async def _run_batch(
    entries: list[tuple[int, dict[str, Any] | Exception]], args: argparse.Namespace, choice: ModelChoice, out: IO[str]
) -> list[dict[str, Any]]:
    """Answer every entry concurrently; write results in input order as they become ready."""
    from tqdm import tqdm

    from llmrouter.utils.api_calling import acall_api
    from llmrouter.utils.batching import bounded
    from llmrouter.utils.call_results import failure_result
    from llmrouter.utils.http_client import pooled_client

    results: list[dict[str, Any] | None] = [None] * len(entries)
    written = 0

    def flush_ready() -> None:
        nonlocal written
        while written < len(results) and results[written] is not None:
            out.write(_dumps(results[written]) + "\n")  # type: ignore[arg-type]
            written += 1
        out.flush()

    options = _call_options(args, choice)
    # The command runs the loop, so it owns the pooled client (none for Bedrock: LiteLLM's own).
    async with contextlib.AsyncExitStack() as stack:
        client = None if choice.llm.is_bedrock else await stack.enter_async_context(pooled_client())

        async def answer(index: int, item: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            request = build_request(item, choice, args.system_prompt)
            # acall_api turns every failure into the result's `error`.
            return index, await acall_api(request, api_keys_env=choice.api_keys_env, client=client, **options)

        calls = []
        for index, (number, entry) in enumerate(entries):
            if isinstance(entry, dict):
                calls.append(answer(index, entry))
            else:
                results[index] = failure_result(entry, {"input_line": number})
        failed = sum(1 for r in results if r is not None)
        # disable=None: a bar on a terminal, nothing when standard error is a file or a pipe.
        bar = tqdm(total=len(entries), initial=failed, file=sys.stderr, unit="req", desc=choice.name, disable=None, dynamic_ncols=True)
        if failed:
            bar.set_postfix(failed=failed)
        try:
            for done in asyncio.as_completed(bounded(calls)):
                index, result = await done
                results[index] = result
                failed += bool(result.get("error"))
                bar.set_postfix(failed=failed, refresh=False)
                bar.update(1)
                flush_ready()
            flush_ready()
        finally:
            bar.close()
    return [r for r in results if r is not None]
