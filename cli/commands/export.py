"""`mockx export`: write the account's orders or trades to CSV or JSON Lines, oldest first, every page.

History is trimmed by the workers past ``HISTORY_RETENTION`` (and beyond ``HISTORY_MAX_ORDERS`` rows per
account); users who keep their own records export it before it goes. The rows are the API's own (ccxt's
order and trade shapes), numbers exactly as the API sent them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import rich_click as click

from cli.client import Api, account_api_options
from cli.commands.orders import Since

#: The CSV columns: (header, path in the ccxt object).
ORDER_COLUMNS = (
    ("id", ("id",)),
    ("clientOrderId", ("clientOrderId",)),
    ("timestamp", ("timestamp",)),
    ("datetime", ("datetime",)),
    ("lastUpdateTimestamp", ("lastUpdateTimestamp",)),
    ("symbol", ("symbol",)),
    ("type", ("type",)),
    ("side", ("side",)),
    ("timeInForce", ("timeInForce",)),
    ("status", ("status",)),
    ("price", ("price",)),
    ("amount", ("amount",)),
    ("filled", ("filled",)),
    ("remaining", ("remaining",)),
    ("average", ("average",)),
    ("cost", ("cost",)),
    ("fee", ("fee", "cost")),
    ("feeCurrency", ("fee", "currency")),
)
TRADE_COLUMNS = (
    ("id", ("id",)),
    ("order", ("order",)),
    ("timestamp", ("timestamp",)),
    ("datetime", ("datetime",)),
    ("symbol", ("symbol",)),
    ("type", ("type",)),
    ("side", ("side",)),
    ("takerOrMaker", ("takerOrMaker",)),
    ("price", ("price",)),
    ("amount", ("amount",)),
    ("cost", ("cost",)),
    ("fee", ("fee", "cost")),
    ("feeCurrency", ("fee", "currency")),
)
PAGE = 1000


@click.command("export")
@click.argument("what", type=click.Choice(["orders", "trades"], case_sensitive=False), default="orders")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"], case_sensitive=False), default="jsonl", show_default=True,
    help="JSON Lines (one API object per line) or CSV (one row per order or trade, the columns of the table).",
)  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.option("--symbol", metavar="SYMBOL", help="Only this symbol.")
@click.option("--since", type=Since(), help="Only rows at or after this time (ms or ISO 8601).")
@click.option("--until", type=Since(), help="Only rows at or before this time (ms or ISO 8601).")
@click.option("--page", type=click.IntRange(1, PAGE), default=PAGE, show_default=True, help="Rows per request.")
@account_api_options
def export(
    api: Api,
    what: str,
    fmt: str,
    output: Path | None,
    symbol: str | None,
    since: int | None,
    until: int | None,
    page: int,
) -> None:
    """Write every order (or trade) the exchange still holds, oldest first, to CSV or JSON Lines.

    \b
    mockx export orders --format csv -o orders.csv
    mockx export trades --since 2026-01-01 > trades.jsonl

    The workers trim closed orders and trades older than HISTORY_RETENTION (7 days by default): export
    what you want to keep. Prints how many rows it wrote on stderr.
    """
    what = what.lower()
    rows = _rows(api, what, limit=page, symbol=symbol, since=0 if since is None else since, until=until)
    columns = ORDER_COLUMNS if what == "orders" else TRADE_COLUMNS
    if output is None:
        count = _write(sys.stdout, rows, fmt.lower(), columns)
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            count = _write(out, rows, fmt.lower(), columns)
    where = f" to {output}" if output else ""
    click.echo(f"{count} {what if count != 1 else what[:-1]} written{where}", err=True)


def _rows(api: Api, what: str, **params: Any) -> Iterator[dict[str, Any]]:
    for reply in api.pages(f"/{what}", **params):
        yield from reply.data


def _write(out: IO[str], rows: Iterator[dict[str, Any]], fmt: str, columns: tuple[Any, ...]) -> int:
    import csv

    import msgspec

    count = 0
    if fmt == "jsonl":
        encoder = msgspec.json.Encoder(decimal_format="number")
        for row in rows:
            out.write(encoder.encode(row).decode() + "\n")
            count += 1
        return count
    writer = csv.writer(out)
    writer.writerow([name for name, _ in columns])
    for row in rows:
        writer.writerow([_cell(row, path) for _, path in columns])
        count += 1
    return count


def _cell(row: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = row
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return format(value, "f") if isinstance(value, Decimal) else str(value)


COMMANDS: list[click.Command] = [export]
