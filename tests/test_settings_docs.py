"""The README's configuration table and .env.example show the settings app/settings.py declares."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import VARIABLES, markdown_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")
COMPOSE = (ROOT / "compose.yaml").read_text(encoding="utf-8")
REGENERATE = "regenerate it with `python -m app.settings --markdown`"


def configuration_table() -> str:
    section = README[README.index("## Configuration") :]
    start = section.index("| Variable |")
    end = section.find("\n\n", start)
    return section[start : end + 1 if end != -1 else None]


def documented_defaults() -> dict[tuple[str, ...], str]:
    """Each row of the README table: its variables (the first cell's `NAMES`) -> its Default cell."""
    rows: dict[tuple[str, ...], str] = {}
    for line in configuration_table().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[tuple(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]))] = cells[1]
    return rows


def test_the_readme_table_shows_every_variable_with_its_default() -> None:
    documented = documented_defaults()
    declared = {var.names: var.shown_default for var in VARIABLES}
    missing = sorted(" / ".join(names) for names in declared.keys() - documented.keys())
    unknown = sorted(" / ".join(names) for names in documented.keys() - declared.keys())
    different = sorted(
        f"{' / '.join(names)}: README {documented[names]}, app/settings.py {default}"
        for names, default in declared.items()
        if names in documented and documented[names] != default
    )
    assert (missing, unknown, different) == ([], [], []), (
        f"README configuration table: missing {missing}, not a setting {unknown}, other default {different}; "
        + REGENERATE
    )


def test_the_readme_table_is_the_rendered_one() -> None:
    assert configuration_table() == markdown_table(), f"the README configuration table drifted; {REGENERATE}"


def test_env_example_shows_every_variable_with_its_default() -> None:
    """``NAME=value`` or ``# NAME=value``, the value being the default: the one app/settings.py declares, or for
    a variable compose gives its own default (``${NAME:-value}``), compose's (tests/deploy checks that one)."""
    shown = dict(re.findall(r"(?m)^(?:#\s)?([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE))
    problems = []
    for var in VARIABLES:
        for name in var.names:
            compose_default = re.search(rf"\$\{{{name}:?-([^}}]+)\}}", COMPOSE)
            expected = compose_default[1] if compose_default else var.default_text
            if name not in shown:
                problems.append(f"{name} is missing")
            elif shown[name].strip() != expected:
                problems.append(f"{name}={shown[name].strip()}, the default is {expected!r}")
    assert problems == [], f".env.example: {problems}"
