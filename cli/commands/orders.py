"""`mockx` commands on orders and fills: order, can-execute, orders, order-info, cancel, trades.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

from typing import Any

import rich_click as click

from cli.client import NUMBER, Api, api_options, fail, json_option, url_path
from cli.render import orders_table, show_order, trades_table

STATUSES = ("open", "closed", "canceled", "expired", "rejected", "new", "filled", "partially_filled", "cancelled")


class Since(click.ParamType[int, Any]):
    """A time given as milliseconds since the epoch or an ISO 8601 date/time (local time if no zone)."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        from datetime import datetime

        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is neither milliseconds since the epoch nor an ISO 8601 time", param, ctx)
        if moment.tzinfo is None:
            moment = moment.astimezone()
        return int(moment.timestamp() * 1000)


def _order_options(func: Any) -> Any:
    func = click.option(
        "--tif",
        "time_in_force",
        type=click.Choice(["GTC", "IOC", "FOK", "PO"], case_sensitive=False),
        help="Time in force of a limit order (PO: post-only).  [default: GTC]",
    )(func)
    func = click.option("--client-id", metavar="ID", help="Your own id for the order (clientOrderId).")(func)
    func = click.option("--price", type=NUMBER, help="Limit price.")(func)
    func = click.option(
        "--type",
        "order_type",
        type=click.Choice(["market", "limit"], case_sensitive=False),
        help="Order type.  [default: limit when --price is given, else market]",
    )(func)
    func = click.argument("amount", type=NUMBER)(func)
    func = click.argument("side", type=click.Choice(["buy", "sell"], case_sensitive=False))(func)
    return click.argument("symbol")(func)


def _order_body(
    symbol: str,
    side: str,
    amount: str,
    order_type: str | None,
    price: str | None,
    client_id: str | None,
    time_in_force: str | None,
) -> dict[str, Any]:
    kind = (order_type or ("limit" if price is not None else "market")).lower()
    if kind == "limit" and price is None:
        fail("a limit order needs --price")
    body: dict[str, Any] = {"symbol": symbol, "side": side.lower(), "type": kind, "amount": amount}
    if price is not None:
        body["price"] = price
    if client_id:
        body["clientOrderId"] = client_id
    if time_in_force:
        body["timeInForce"] = time_in_force.upper()
    return body


@click.command("order")
@_order_options
@json_option
@api_options
def order(
    api: Api,
    symbol: str,
    side: str,
    amount: str,
    order_type: str | None,
    price: str | None,
    client_id: str | None,
    time_in_force: str | None,
    as_json: bool,
) -> None:
    """Place an order: SIDE (buy or sell) AMOUNT of SYMBOL's base asset.

    \b
    mockx order BTC/USDT buy 0.05                               market order, fills at once
    mockx order BTC/USDT sell 0.01 --type limit --price 50000   rests until a price crosses it
    """
    from cli.output import echo_json

    reply = api.post("/orders", _order_body(symbol, side, amount, order_type, price, client_id, time_in_force))
    if as_json:
        echo_json(reply.text)
    else:
        show_order(reply.data)


@click.command("can-execute")
@_order_options
@json_option
@api_options
def can_execute(
    api: Api,
    symbol: str,
    side: str,
    amount: str,
    order_type: str | None,
    price: str | None,
    client_id: str | None,
    time_in_force: str | None,
    as_json: bool,
) -> None:
    """Dry-run an order (same arguments as `mockx order`): would it be accepted? Nothing changes.

    Exits 0 when it would be accepted and 1 (with the reason) when not.
    """
    from cli.output import echo_json, styled

    reply = api.post(
        "/orders/can_execute", _order_body(symbol, side, amount, order_type, price, client_id, time_in_force)
    )
    result = reply.data
    if as_json:
        echo_json(reply.text)
    elif result.get("ok"):
        click.echo(click.style("ok", fg="green", bold=True) + ": the order would be accepted")
    else:
        from cli.output import console

        code = f"{result['code']}: " if result.get("code") else ""
        console().print(styled("refused", "bold red") + ": " + styled(f"{code}{result.get('reason') or ''}", None))
    if not result.get("ok"):
        raise SystemExit(1)


@click.command("orders")
@click.option(
    "--status",
    type=click.Choice(STATUSES, case_sensitive=False),
    help="ccxt status, or an older word (new, filled, partially_filled, cancelled).",
)
@click.option("--symbol", metavar="SYMBOL", help="Only this symbol.")
@click.option("--side", type=click.Choice(["buy", "sell"], case_sensitive=False), help="Only this side.")
@click.option("--since", type=Since(), help="Only orders placed at or after this time (ms or ISO 8601).")
@click.option("--limit", "--tail", "limit", type=click.IntRange(1), help="Only the most recent N.")
@json_option
@api_options
def orders(
    api: Api,
    status: str | None,
    symbol: str | None,
    side: str | None,
    since: int | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List orders, oldest first; the filters combine."""
    from cli.output import echo_json, note, show

    reply = api.get("/orders", status=status, symbol=symbol, side=side, since=since, limit=limit)
    if as_json:
        echo_json(reply.text)
        return
    if not reply.data:
        note("No orders match.")
        return
    show(orders_table(reply.data))


@click.command("order-info")
@click.argument("order_id", metavar="ID")
@json_option
@api_options
def order_info(api: Api, order_id: str, as_json: bool) -> None:
    """Show one order, by id or by client order id."""
    from cli.output import echo_json

    reply = api.get(url_path("orders", order_id))
    if as_json:
        echo_json(reply.text)
    else:
        show_order(reply.data)


@click.command("cancel")
@click.argument("order_id", metavar="ID")
@json_option
@api_options
def cancel(api: Api, order_id: str, as_json: bool) -> None:
    """Cancel an open order (by id or client order id); its reserved funds are released."""
    from cli.output import echo_json

    reply = api.post(url_path("orders", order_id, "cancel"))
    if as_json:
        echo_json(reply.text)
    else:
        show_order(reply.data)


@click.command("trades")
@click.option("--symbol", metavar="SYMBOL", help="Only this symbol.")
@click.option("--since", type=Since(), help="Only fills at or after this time (ms or ISO 8601).")
@click.option("--limit", "--tail", "limit", type=click.IntRange(1), help="Only the most recent N.")
@json_option
@api_options
def trades(api: Api, symbol: str | None, since: int | None, limit: int | None, as_json: bool) -> None:
    """List the account's fills, oldest first."""
    from cli.output import echo_json, note, show

    reply = api.get("/trades", symbol=symbol, since=since, limit=limit)
    if as_json:
        echo_json(reply.text)
        return
    if not reply.data:
        note("No trades yet.")
        return
    show(trades_table(reply.data))


COMMANDS: list[click.Command] = [
    order,
    can_execute,
    orders,
    order_info,
    cancel,
    trades,
]
