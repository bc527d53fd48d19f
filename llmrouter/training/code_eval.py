"""``code_eval``: run an answer's code against the row's tests, isolated, with a timeout.

Tests come from ``ground_truth``: a list of ``assert`` lines (MBPP) or a HumanEval
``def check(candidate): ...`` (the function under test is the last ``def`` of the query).
The program runs in a fresh ``python -I`` in an empty temporary directory, with:

- no network: in a new network namespace (``unshare -rn``, loopback only and down) where the
  kernel allows it, and in any case with ``socket`` disabled before the answer runs;
- a wall-clock timeout (:data:`TIMEOUT_S`, a hang scores 0; the whole process group is killed)
  and a 2 GB address-space limit.

Score 1.0 when every test passes, else 0.0. A row without usable tests, or a machine where
Python cannot be started, raises :class:`~.metrics.MetricSkipped` with the reason.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any

from llmrouter.training.metrics import MetricSkipped

__all__ = ["TIMEOUT_S", "build_program", "extract_code", "run_tests"]

TIMEOUT_S = 10.0
_FENCE = re.compile(r"```(?:python|py|Python)?[ \t]*\n(.*?)```", re.S)
_GUARD = """\
import resource, socket, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in code_eval")
socket.socket = socket.create_connection = socket.getaddrinfo = socket.socketpair = _no_network
sys.modules["_socket"] = None
source = open("solution.py", encoding="utf-8").read()
exec(compile(source, "solution.py", "exec"), {"__name__": "__main__"})
"""


def extract_code(answer: str) -> str:
    """The Python in an answer: its fenced blocks joined, else the whole answer."""
    blocks = _FENCE.findall(answer)
    return "\n\n".join(blocks) if blocks else answer


def build_program(answer: str, truth: str, row: dict[str, Any]) -> str:
    """The program to run: the answer's code, then the tests (MetricSkipped if there are none)."""
    code = extract_code(answer)
    truth = truth.strip()
    if truth.startswith("def check("):
        entry = re.findall(r"^def\s+(\w+)\s*\(", str(row.get("query") or ""), flags=re.M)
        if not entry:
            raise MetricSkipped("HumanEval test without a function to check (no `def` in the query)")
        name = entry[-1]
        if not re.search(rf"^\s*def\s+{name}\s*\(", code, flags=re.M):
            code = str(row["query"]) + code  # the answer is the body of the prompt's function
        return f"{code}\n\n{truth}\n\ncheck({name})\n"
    try:
        tests = ast.literal_eval(truth)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        tests = [line for line in truth.splitlines() if line.strip().startswith("assert")]
    if isinstance(tests, str):
        tests = [tests]
    if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
        raise MetricSkipped("ground_truth has no tests (expected a list of assert lines or a check() function)")
    return code + "\n\n" + "\n".join(tests) + "\n"


@functools.lru_cache(maxsize=1)
def _network_namespace() -> list[str]:
    """``["unshare", "-rn"]`` when this kernel lets an unprivileged user drop the network."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    try:
        ok = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return [unshare, "-rn"] if ok else []


def run_tests(answer: str, truth: str, row: dict[str, Any], timeout: float = TIMEOUT_S) -> float:
    program = build_program(answer, truth, row)
    with tempfile.TemporaryDirectory(prefix="llmrouter-code-eval-") as workdir:
        with open(os.path.join(workdir, "solution.py"), "w", encoding="utf-8") as handle:
            handle.write(program)
        command = [*_network_namespace(), sys.executable, "-I", "-c", _GUARD]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            # Its own process group: on timeout, whatever the program started dies with it.
            proc = subprocess.Popen(
                command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True,
            )
        except OSError as exc:
            raise MetricSkipped(f"cannot start Python for code_eval ({exc})") from None
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = -1
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return float(returncode == 0)
