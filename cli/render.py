"""How the API's answers print: ``--json`` as they were sent, else the ccxt objects as Rich tables.

Balances, orders, trades and tickers look the same in every command that shows them. ``rich`` is imported
inside the functions (through ``cli.output``), so importing this module costs nothing at ``mockx --help``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

    from cli.client import Reply


def answer(reply: Reply, as_json: bool, view: Callable[[Any], object], *, empty: str | None = None) -> None:
    """``--json``: the API's JSON as it was sent; else ``view(reply.data)``, or the note ``empty`` if no data."""
    from cli.output import echo_json, note

    if as_json:
        echo_json(reply.text)
    elif empty is not None and not reply.data:
        note(empty)
    else:
        view(reply.data)


def fee(fee: Any) -> str:
    """A ccxt fee as ``0.1 USDT``; empty when it has no cost."""
    from cli.output import num

    if not isinstance(fee, dict) or fee.get("cost") is None:
        return ""
    return f"{num(fee['cost'])} {fee.get('currency') or ''}".strip()


def balance_table(rows: list[tuple[str, Any, Any, Any]]) -> Table:
    from cli.output import num, table

    grid = table("Asset", "Free", "Used", "Total", numeric=("Free", "Used", "Total"))
    for asset, free, used, total in rows:
        grid.add_row(asset, num(free), num(used), num(total))
    return grid


def show_balance(data: dict[str, Any]) -> None:
    from cli.output import show

    show(balance_table([(data["asset"], data["free"], data["used"], data["total"])]))


def orders_table(orders: list[dict[str, Any]], title: str | None = None) -> Table:
    from cli.output import num, side, status, table, when

    grid = table(
        "ID", "Time", "Symbol", "Side", "Type", "Amount", "Price", "Filled", "Average", "Cost", "Fee", "Status",
        title=title, numeric=("Amount", "Price", "Filled", "Average", "Cost", "Fee"),
    )  # fmt: skip
    for o in orders:
        grid.add_row(
            str(o["id"]), when(o.get("timestamp")), o["symbol"], side(o["side"]), o["type"], num(o["amount"]),
            num(o.get("price")), num(o.get("filled")), num(o.get("average")), num(o.get("cost")), fee(o.get("fee")),
            status(o["status"]),
        )  # fmt: skip
    return grid


def show_order(o: dict[str, Any]) -> None:
    from cli.output import num, pairs, show, side, status, when

    rows = [
        ("id", str(o["id"])),
        ("client id", o.get("clientOrderId") or ""),
        ("symbol", o["symbol"]),
        ("side", side(o["side"])),
        ("type", f"{o['type']} ({o.get('timeInForce') or 'GTC'})" if o["type"] == "limit" else o["type"]),
        ("status", status(o["status"])),
        ("amount", num(o["amount"])),
        ("price", num(o.get("price"))),
        ("filled", num(o.get("filled"))),
        ("remaining", num(o.get("remaining"))),
        ("average", num(o.get("average"))),
        ("cost", num(o.get("cost"))),
        ("fee", fee(o.get("fee"))),
        ("created", when(o.get("timestamp"))),
        ("last trade", when(o.get("lastTradeTimestamp"))),
    ]
    show(pairs([(k, v) for k, v in rows if v], title=f"Order {o['id']}"))


def trades_table(trades: list[dict[str, Any]]) -> Table:
    from cli.output import num, side, table, when

    grid = table(
        "ID", "Time", "Order", "Symbol", "Side", "Role", "Amount", "Price", "Cost", "Fee",
        numeric=("Amount", "Price", "Cost", "Fee"),
    )  # fmt: skip
    for t in trades:
        grid.add_row(
            str(t["id"]), when(t.get("timestamp")), str(t.get("order") or ""), t["symbol"], side(t["side"]),
            t.get("takerOrMaker") or "", num(t["amount"]), num(t["price"]), num(t["cost"]), fee(t.get("fee")),
        )  # fmt: skip
    return grid


def tickers_table(tickers: list[dict[str, Any]]) -> Table:
    from cli.output import age, num, signed, table, when

    grid = table(
        "Symbol", "Last", "Bid", "Ask", "High", "Low", "Change", "Change %", "Time", "Age",
        numeric=("Last", "Bid", "Ask", "High", "Low", "Change", "Change %"),
    )  # fmt: skip
    for t in tickers:
        grid.add_row(
            t["symbol"], num(t.get("last")), num(t.get("bid")), num(t.get("ask")), num(t.get("high")),
            num(t.get("low")), signed(t.get("change")), signed(t.get("percentage")), when(t.get("timestamp")),
            age(t.get("timestamp")),
        )  # fmt: skip
    return grid
