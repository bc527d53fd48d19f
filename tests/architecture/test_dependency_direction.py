"""Dependencies run one way: the server (``openclaw_litellm``) imports the library (``llmrouter``).

The library never imports the server, so the CLI (``chat``, ``infer``) and the coming training
code load without FastAPI and friends, and a change in the server cannot break the library.
The one exception is the CLI's ``serve`` command, which starts the server through a lazy import
inside ``llmrouter.cli.main``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = "openclaw_litellm"
# (file, imported module): the only library -> server import, and it must stay inside a function.
ALLOWED_LAZY = {("llmrouter/cli.py", "openclaw_litellm.server")}


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def _server_imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module, line, inside a function) for every import of the server package in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for module in _imported_modules(node):
            if module == SERVER or module.startswith(SERVER + "."):
                found.append((module, node.lineno, in_function))
        nested = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, nested)

    visit(tree, False)
    return found


def test_library_modules_do_not_import_the_server():
    offenders = []
    for path in sorted((ROOT / "llmrouter").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for module, line, in_function in _server_imports(path):
            if (rel, module) in ALLOWED_LAZY and in_function:
                continue
            offenders.append(f"{rel}:{line} imports {module}")
    assert offenders == []


def test_the_serve_exception_is_still_lazy():
    # Guards the guard: if cli.py ever imported the server at module level, the test above
    # would flag it; here we check the allowed import still exists where we think it is.
    imports = _server_imports(ROOT / "llmrouter" / "cli.py")
    assert [(module, lazy) for module, _, lazy in imports] == [("openclaw_litellm.server", True)]


def test_the_checker_sees_a_top_level_server_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom openclaw_litellm.schemas import ChatRequest\ndef f():\n    import openclaw_litellm\n")
    assert _server_imports(sample) == [("openclaw_litellm.schemas", 2, False), ("openclaw_litellm", 4, True)]


def test_importing_the_library_loads_no_server_module():
    # Catches what the AST cannot: an import hidden behind importlib or a re-export.
    code = (
        "import sys\n"
        "import llmrouter.cli, llmrouter.commands, llmrouter.commands.chat, llmrouter.commands.infer\n"
        "import llmrouter.config, llmrouter.provider_params, llmrouter.routing\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'openclaw_litellm'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
