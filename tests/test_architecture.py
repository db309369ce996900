"""The layout shows the architecture: engine → store → workers / api dialects → cli, one direction.

Checked on the source (imports as written, anywhere in a module), so a shortcut across the layers fails here
before it becomes a habit.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "cli").rglob("*.py")])
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


IMPORTS = {_module(p): _imports(p) for p in SOURCES}


def _offenders(where: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for module, names in IMPORTS.items():
        if module == where or module.startswith(where + "."):
            bad = sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))
            if bad:
                out[module] = bad
    return out


def test_only_the_api_imports_litestar() -> None:
    outside = {m: n for m, n in _offenders("app", ("litestar",)).items() if not m.startswith("app.api")}
    assert not outside, outside


def test_nothing_imports_a_private_redis_module() -> None:
    private = {m: sorted(n for n in names if n.startswith("redis._")) for m, names in IMPORTS.items()}
    assert not {m: n for m, n in private.items() if n}


def test_the_engine_knows_no_dialect_and_no_wire() -> None:
    assert not _offenders("app.engine", ("app.api", "app.workers", "cli", "litestar", "hiredis"))


def test_the_store_knows_nothing_above_it() -> None:
    assert not _offenders("app.store", ("app.engine", "app.api", "app.workers", "cli"))


def test_workers_and_api_do_not_import_each_other_and_nothing_imports_the_cli() -> None:
    assert not _offenders("app.workers", ("app.api", "cli"))
    assert not _offenders("app.api", ("app.workers", "cli"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_files_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_FILE_LINES, f"{path.name}: {text.count(chr(10))} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, long
