"""How the ``mockx`` commands print: exact numbers, local times, colours by side and status, Rich tables.

Data goes to stdout, diagnostics to stderr. ``rich`` is imported inside the functions, so importing this
module costs nothing at ``mockx --help``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

SIDE_STYLES = {"buy": "green", "sell": "red"}
STATUS_STYLES = {
    "open": "cyan",
    "closed": "bold green",
    "filled": "bold green",
    "canceled": "yellow",
    "expired": "dim",
    "rejected": "bold red",
    "ok": "bold green",
    "degraded": "bold yellow",
    "unavailable": "bold red",
}
_WIDE = 160  # columns of a table written to a pipe or a file, where nothing should be cut

_consoles: dict[bool, Console] = {}


def console(*, err: bool = False) -> Console:
    """The Rich console of stdout (data) or stderr (diagnostics)."""
    if err not in _consoles:
        from rich.console import Console

        stream = sys.stderr if err else sys.stdout
        width = None if stream.isatty() or os.environ.get("COLUMNS") else _WIDE
        _consoles[err] = Console(file=stream, width=width, highlight=False, soft_wrap=False)
    return _consoles[err]


def echo_json(text: str) -> None:
    """A JSON document as the API sent it, on one line of stdout."""
    sys.stdout.write(text.strip() + "\n")
    sys.stdout.flush()


def num(value: Any) -> str:
    """An exact number as plain digits (``0.00000001``, never ``1E-8``); empty for a missing value."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def pct(value: Any) -> str:
    return "" if value is None else f"{num(value)} %"


def when(ms: Any, *, millis: bool = False) -> str:
    """A timestamp in ms since the epoch as local time."""
    if ms is None or ms == "":
        return ""
    moment = datetime.fromtimestamp(int(ms) / 1000).astimezone()
    if millis:
        return moment.strftime("%H:%M:%S.") + f"{int(ms) % 1000:03d}"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def age(ms: Any, now_ms: float | None = None) -> str:
    """How long ago a timestamp (ms since the epoch) was: ``just now``, ``40 s ago``, ``12 min ago``, ``3 h ago``."""
    import time

    if ms is None or ms == "":
        return ""
    seconds = max(0.0, ((time.time() * 1000 if now_ms is None else now_ms) - int(ms)) / 1000)
    if seconds < 2:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def styled(text: str, style: str | None) -> str:
    """Rich markup for ``text`` in ``style`` (the text itself is escaped)."""
    from rich.markup import escape

    return f"[{style}]{escape(text)}[/]" if style else escape(text)


def side(value: Any) -> str:
    return styled(str(value or ""), SIDE_STYLES.get(str(value)))


def status(value: Any) -> str:
    return styled(str(value or ""), STATUS_STYLES.get(str(value)))


def signed(value: Any) -> str:
    """A profit or a change: green above zero, red below."""
    if value is None:
        return ""
    style = "green" if value > 0 else "red" if value < 0 else None
    return styled(num(value), style)


def table(*columns: str, title: str | None = None, numeric: Iterable[str] = ()) -> Table:
    """A table whose ``numeric`` columns are right-aligned; cells are never cut."""
    from rich import box
    from rich.table import Table

    right = set(numeric)
    grid = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style="bold")
    for name in columns:
        grid.add_column(name, justify="right" if name in right else "left", no_wrap=True, overflow="fold")
    return grid


def pairs(rows: Sequence[tuple[str, str]], title: str | None = None) -> Table:
    """A two-column table of ``name: value`` lines."""
    grid = table("", "", title=title)
    grid.show_header = False
    names, values = grid.columns
    names.min_width = max((len(name) for name, _ in rows), default=0)  # names are never cut
    values.no_wrap = False  # a long value (a path) folds onto the next line instead
    for name, value in rows:
        grid.add_row(f"[bold]{name}[/]", value)
    return grid


def show(*items: Any) -> None:
    for item in items:
        console().print(item)


def note(message: str) -> None:
    """A diagnostic line on stderr (hints, empty results, confirmations)."""
    console(err=True).print(message, style="dim")
