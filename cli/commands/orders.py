"""`mockx` commands on orders and fills: order, can-execute, orders, order-info, cancel, trades.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import rich_click as click

from cli.client import COUNT, NUMBER, Api, NumberCommand, account_api_options, json_option, url_path
from cli.render import answer, orders_table, show_order, trades_table

PAGE = 100  # rows per page the commands ask for: a table a person can read, printed in well under a second
MAX_PAGE = 1000
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


def _paged(func: Callable[..., Any]) -> Callable[..., Any]:
    """The paging options of a list: --since, --until, --from-id, --to-id, --limit, --all."""
    options = (
        click.option("--since", type=Since(), help="The oldest rows at or after this time (ms or ISO 8601)."),
        click.option("--until", type=Since(), help="Only rows at or before this time (ms or ISO 8601)."),
        click.option("--from-id", metavar="ID", type=click.IntRange(min=0), help="The oldest rows from this id on."),
        click.option("--to-id", metavar="ID", type=click.IntRange(min=0), help="Only this id and older rows."),
        click.option(
            "--limit",
            "--tail",
            "limit",
            type=COUNT,
            default=PAGE,
            show_default=True,
            help=f"Rows per page (at most {MAX_PAGE}).",
        ),
        click.option("--all", "every", is_flag=True, help="Every matching row, oldest first, a page at a time."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def list_pages(api: Api, path: str, query: dict[str, Any], as_json: bool, every: bool, what: str) -> None:
    """One page of a paged list (the newest rows, or from --since / --from-id), or with ``every`` all of them.

    A page is a table, oldest first; when there are more rows, stderr says how to see them. ``--all`` walks
    from the oldest row (or --since / --from-id) to the newest following the ``Link`` headers, printing each
    page as it arrives; with ``--json`` it prints one JSON array, written page by page.
    """
    from cli.output import echo_json, note, show

    table = orders_table if what == "orders" else trades_table
    if every and query.get("since") is None and query.get("fromId") is None:
        query = {**query, "fromId": 0}
    first, shown, following = True, 0, None
    if as_json and every:
        sys.stdout.write("[")
    for reply in api.pages(path, **query) if every else [api.get(path, **query)]:
        rows = reply.data
        if as_json and every:
            inner = reply.text.strip()[1:-1].strip()
            if inner:
                sys.stdout.write(("," if shown else "") + inner)
                sys.stdout.flush()
        elif as_json:
            echo_json(reply.text)
        elif rows:
            grid = table(rows)
            grid.show_header = first
            show(grid)
            first = False
        shown += len(rows)
        following = reply.next_query
    if as_json and every:
        sys.stdout.write("]\n")
    elif not as_json and not shown:
        note("No orders match." if what == "orders" else "No trades yet.")
    if not every and following is not None:
        cursor = " ".join(f"--{k.replace('Id', '-id')} {v}" for k, v in following.items() if k in ("fromId", "toId"))
        more = "older" if "toId" in following else "newer"
        note(f"More {what}: {more} ones with `mockx {what} ... {cursor}`, every one with --all.")


@click.command("orders")
@click.option(
    "--status",
    type=click.Choice(STATUSES, case_sensitive=False),
    help="ccxt status, or an older word (new, filled, partially_filled, cancelled).",
)
@click.option("--symbol", metavar="SYMBOL", help="Only this symbol.")
@click.option("--side", type=click.Choice(["buy", "sell"], case_sensitive=False), help="Only this side.")
@_paged
@json_option
@account_api_options
def orders(
    api: Api,
    status: str | None,
    symbol: str | None,
    side: str | None,
    as_json: bool,
    every: bool,
    **window: Any,
) -> None:
    """List orders: the newest page (or from --since / --from-id), oldest first; the filters combine.

    --all prints every matching order, oldest first, as the pages arrive (--json: one JSON array).
    """
    query = {"status": status, "symbol": symbol, "side": side, **_window(window)}
    list_pages(api, "/orders", query, as_json, every, "orders")


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
@_paged
@json_option
@account_api_options
def trades(api: Api, symbol: str | None, as_json: bool, every: bool, **window: Any) -> None:
    """List the account's fills: the newest page (or from --since / --from-id), oldest first.

    --all prints every fill, oldest first, as the pages arrive (--json: one JSON array).
    """
    list_pages(api, "/trades", {"symbol": symbol, **_window(window)}, as_json, every, "trades")


def _window(options: dict[str, Any]) -> dict[str, Any]:
    """The paging options as the API's query parameters."""
    names = {"since": "since", "until": "until", "from_id": "fromId", "to_id": "toId", "limit": "limit"}
    return {names[k]: v for k, v in options.items() if k in names}


COMMANDS: list[click.Command] = [
    order,
    can_execute,
    orders,
    order_info,
    cancel,
    trades,
]
