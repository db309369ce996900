"""`mockx` commands on orders and fills: order, can-execute, orders, order-info, cancel, trades.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import rich_click as click

from cli.client import COUNT, NUMBER, Api, NumberCommand, account_api_options, json_option, url_path
from cli.render import answer, orders_table, show_order, trades_table

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


def _order_request(func: Callable[..., Any]) -> Callable[..., Any]:
    """SYMBOL SIDE AMOUNT and the order options; the command receives them as one ``body`` for ``POST /orders``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        symbol: str,
        side: str,
        amount: str,
        order_type: str | None,
        price: str | None,
        client_id: str | None,
        time_in_force: str | None,
        **kwargs: Any,
    ) -> Any:
        kind = (order_type or ("limit" if price is not None else "market")).lower()
        if kind == "limit" and price is None:
            raise click.UsageError("a limit order needs --price (or --type market)")
        body: dict[str, Any] = {"symbol": symbol, "side": side.lower(), "type": kind, "amount": amount}
        if price is not None:
            body["price"] = price
        if client_id:
            body["clientOrderId"] = client_id
        if time_in_force:
            body["timeInForce"] = time_in_force.upper()
        return func(*args, body=body, **kwargs)

    for option in reversed(ORDER_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


ORDER_OPTIONS = (
    click.argument("symbol"),
    click.argument("side", type=click.Choice(["buy", "sell"], case_sensitive=False)),
    click.argument("amount", type=NUMBER),
    click.option(
        "--type",
        "order_type",
        type=click.Choice(["market", "limit"], case_sensitive=False),
        help="Order type.  [default: limit when --price is given, else market]",
    ),
    click.option("--price", type=NUMBER, help="Limit price."),
    click.option("--client-id", metavar="ID", help="Your own id for the order (clientOrderId)."),
    click.option(
        "--tif",
        "time_in_force",
        type=click.Choice(["GTC", "IOC", "FOK", "PO"], case_sensitive=False),
        help="Time in force of a limit order (PO: post-only).  [default: GTC]",
    ),
)


@click.command("order", cls=NumberCommand)
@_order_request
@json_option
@account_api_options
def order(api: Api, body: dict[str, Any], as_json: bool) -> None:
    """Place an order: SIDE (buy or sell) AMOUNT of SYMBOL's base asset.

    \b
    mockx order BTC/USDT buy 0.05                               market order, fills at once
    mockx order BTC/USDT sell 0.01 --type limit --price 50000   rests until a price crosses it
    """
    answer(api.post("/orders", body), as_json, show_order)


@click.command("can-execute", cls=NumberCommand)
@_order_request
@json_option
@account_api_options
def can_execute(api: Api, body: dict[str, Any], as_json: bool) -> None:
    """Dry-run an order (same arguments as `mockx order`): would it be accepted? Nothing changes.

    Exits 0 when it would be accepted and 1 (with the reason) when not.
    """
    from cli.output import echo_json, styled

    reply = api.post("/orders/can_execute", body)
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
@click.option("--limit", "--tail", "limit", type=COUNT, help="Only the most recent N.")
@json_option
@account_api_options
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
    from cli.output import show

    reply = api.get("/orders", status=status, symbol=symbol, side=side, since=since, limit=limit)
    answer(reply, as_json, lambda data: show(orders_table(data)), empty="No orders match.")


@click.command("order-info")
@click.argument("order_id", metavar="ID")
@json_option
@account_api_options
def order_info(api: Api, order_id: str, as_json: bool) -> None:
    """Show one order, by id or by client order id."""
    answer(api.get(url_path("orders", order_id)), as_json, show_order)


@click.command("cancel")
@click.argument("order_id", metavar="ID")
@json_option
@account_api_options
def cancel(api: Api, order_id: str, as_json: bool) -> None:
    """Cancel an open order (by id or client order id); its reserved funds are released."""
    answer(api.post(url_path("orders", order_id, "cancel")), as_json, show_order)


@click.command("trades")
@click.option("--symbol", metavar="SYMBOL", help="Only this symbol.")
@click.option("--since", type=Since(), help="Only fills at or after this time (ms or ISO 8601).")
@click.option("--limit", "--tail", "limit", type=COUNT, help="Only the most recent N.")
@json_option
@account_api_options
def trades(api: Api, symbol: str | None, since: int | None, limit: int | None, as_json: bool) -> None:
    """List the account's fills, oldest first."""
    from cli.output import show

    reply = api.get("/trades", symbol=symbol, since=since, limit=limit)
    answer(reply, as_json, lambda data: show(trades_table(data)), empty="No trades yet.")


COMMANDS: list[click.Command] = [
    order,
    can_execute,
    orders,
    order_info,
    cancel,
    trades,
]
