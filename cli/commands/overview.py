"""`mockx overview`: the portfolio valued in the cash asset, trade statistics and capital.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rich_click as click

from cli.client import Api, account_api_options, json_option, url_path

SECTIONS = ("assets", "trades", "capital")


@click.command("overview")
@click.argument("section", required=False, type=click.Choice(SECTIONS, case_sensitive=False))
@json_option
@account_api_options
def overview(api: Api, section: str | None, as_json: bool) -> None:
    """Show the portfolio valued in the cash asset, trade statistics and capital (all three by default)."""
    from cli.output import echo_json

    chosen = [section.lower()] if section else list(SECTIONS)
    replies = {name: api.get(url_path("overview", name)) for name in chosen}
    if as_json and section:
        echo_json(replies[chosen[0]].text)
    elif as_json:
        echo_json("{" + ",".join(f'"{name}":{reply.text.strip()}' for name, reply in replies.items()) + "}")
    else:
        for name, reply in replies.items():
            VIEWS[name](reply.data)


def _overview_assets(data: dict[str, Any]) -> None:
    from cli.output import num, show, table

    cash = data["cashAsset"]
    grid = table(
        "Asset", "Free", "Used", "Total", f"Price ({cash})", f"Value ({cash})",
        title="Assets", numeric=("Free", "Used", "Total", f"Price ({cash})", f"Value ({cash})"),
    )  # fmt: skip
    for row in data["assets"]:
        grid.add_row(
            row["asset"], num(row["free"]), num(row["used"]), num(row["total"]), num(row.get("price")),
            num(row.get("value")),
        )  # fmt: skip
    grid.add_section()
    grid.add_row("[bold]total[/]", "", "", "", "", f"[bold]{num(data['totalValue'])}[/]")
    show(grid)
    _note_unpriced(data)


def _note_unpriced(data: dict[str, Any]) -> None:
    """The assets the overview could not value (no price in the cash asset), on stderr."""
    if data.get("unpriced"):
        from cli.output import note

        note(f"Not valued (no {data['cashAsset']} price): {', '.join(data['unpriced'])}")


def _overview_trades(data: dict[str, Any]) -> None:
    from cli.output import num, pairs, show, table

    counts = [
        ("trades", str(data["trades"])),
        ("buys / sells", f"{data['buys']} / {data['sells']}"),
        ("maker / taker", f"{data['makers']} / {data['takers']}"),
    ]
    for q in data.get("byQuote") or []:
        counts.append((f"volume ({q['quote']})", num(q["volume"])))
        counts.append((f"fees ({q['quote']})", num(q["fees"])))
    show(pairs(counts, title="Trades"))
    if data.get("bySymbol"):
        grid = table(
            "Symbol", "Buys", "Sells", "Bought", "Sold", "Volume", "Fees",
            numeric=("Buys", "Sells", "Bought", "Sold", "Volume", "Fees"),
        )  # fmt: skip
        for s in data["bySymbol"]:
            buy, sell = s["buy"], s["sell"]
            grid.add_row(
                s["symbol"], str(buy["count"]), str(sell["count"]), f"{num(buy['base'])} {s['base']}",
                f"{num(sell['base'])} {s['base']}", f"{num(buy['quote'] + sell['quote'])} {s['quote']}",
                f"{num(buy['fee'] + sell['fee'])} {s['quote']}",
            )  # fmt: skip
        show(grid)


def _overview_capital(data: dict[str, Any]) -> None:
    from cli.output import num, pairs, pct, show, signed

    cash = data["cashAsset"]
    rows = [
        ("equity", f"{num(data['equity'])} {cash}"),
        ("deposits", f"{num(data['deposits'])} {cash}"),
        ("withdrawals", f"{num(data['withdrawals'])} {cash}"),
        ("net deposits", f"{num(data['netDeposits'])} {cash}"),
        ("profit", f"{signed(data['profit'])} {cash}"),
        ("profit %", pct(data.get("profitPct"))),
        ("fees", f"{num(data['fees'])} {cash}"),
    ]
    show(pairs([(k, v) for k, v in rows if v], title="Capital"))
    _note_unpriced(data)


VIEWS: dict[str, Callable[[dict[str, Any]], None]] = {
    "assets": _overview_assets,
    "trades": _overview_trades,
    "capital": _overview_capital,
}

COMMANDS: list[click.Command] = [
    overview,
]
