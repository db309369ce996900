"""The repository's deployment files, read as their own tools read them where no tool is needed: the
Containerfile's instructions, the variables ``.env.example`` documents, what MockX reads from the
environment, and the healthcheck script. Compose and kustomize themselves: compose.py and kustomize.py.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
CONTAINERFILE = ROOT / "Containerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
VALKEY_CONF = ROOT / "deploy" / "valkey.conf"
HEALTHCHECK_SCRIPT = ROOT / "deploy" / "healthcheck.py"
K8S = ROOT / "deploy" / "k8s"
ORDER_GENERATOR = ROOT / "examples" / "order-generator" / "order_generator.py"

MOCKX_SERVICES = ("api", "worker", "feed")


def load_healthcheck() -> ModuleType:
    """deploy/healthcheck.py (a script, not a package module) imported under its installed name."""
    spec = importlib.util.spec_from_file_location("mockx_healthcheck", HEALTHCHECK_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- .env.example -------------------------------------------------------------------------------------------

_ENV_LINE = re.compile(r"^(?P<comment>#\s)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def documented_variables(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """Every variable ``.env.example`` documents, set (``KEY=v``) or shown with its default (``# KEY=v``)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _ENV_LINE.match(line.strip())
        if m:
            values[m["name"]] = _unquote(m["value"].strip())
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


# --- Containerfile ------------------------------------------------------------------------------------------


def containerfile_instructions(text: str | None = None) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined and comments dropped."""
    text = CONTAINERFILE.read_text(encoding="utf-8") if text is None else text
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, args = line.partition(" ")
        instructions.append((word.upper(), args.strip()))
    return instructions


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Instructions grouped by build stage (the first group holds the global ``ARG``s)."""
    groups: list[list[tuple[str, str]]] = [[]]
    for instruction in instructions:
        if instruction[0] == "FROM":
            groups.append([])
        groups[-1].append(instruction)
    return groups


def exec_form(args: str) -> list[str]:
    """The JSON (exec) form of ``ENTRYPOINT``/``CMD``/``HEALTHCHECK CMD``."""
    value = json.loads(args)
    assert isinstance(value, list), f"not the exec (JSON) form: {args}"
    return [str(part) for part in value]


def image_entrypoint() -> list[str]:
    """The runtime stage's ENTRYPOINT without the init process: what runs in front of the command."""
    final = stages(containerfile_instructions())[-1]
    entry = exec_form(next(args for word, args in reversed(final) if word == "ENTRYPOINT"))
    if "--" in entry:
        entry = entry[entry.index("--") + 1 :]
    return entry


# --- the variables MockX reads ------------------------------------------------------------------------------


def settings_variables() -> set[str]:
    """Every environment variable app/settings.py reads (its declarations, aliases included)."""
    from app.settings import VARIABLES

    return {name for var in VARIABLES for name in var.names}


def cli_variables() -> set[str]:
    """Every ``envvar=`` of a ``mockx`` command option."""
    names: set[str] = set()
    for path in (ROOT / "cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "envvar":
                value = node.value
                for item in value.elts if isinstance(value, ast.List | ast.Tuple) else [value]:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        names.add(item.value)
    return names
