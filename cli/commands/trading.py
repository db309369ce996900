"""`mockx` commands: trading and admin, each one call (or a few) to the REST API.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import rich_click as click

from cli.client import NUMBER, Api, api_options, fail, json_option

if TYPE_CHECKING:
    from rich.table import Table

STATUSES = ("open", "closed", "canceled", "expired", "rejected", "new", "filled", "partially_filled", "cancelled")


def _path(*parts: str) -> str:
    """A URL path whose user-given parts (symbols like ``BTC/USDT``, ids, assets) are percent-encoded."""
    from urllib.parse import quote

    return "/" + "/".join(quote(part.strip(), safe="") for part in parts)


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


# rendering -------------------------------------------------------------------------------------------------
def _fee(fee: Any) -> str:
    from cli.output import num

    if not isinstance(fee, dict) or fee.get("cost") is None:
        return ""
    return f"{num(fee['cost'])} {fee.get('currency') or ''}".strip()


def _balance_table(rows: list[tuple[str, Any, Any, Any]]) -> Table:
    from cli.output import num, table

    grid = table("Asset", "Free", "Used", "Total", numeric=("Free", "Used", "Total"))
    for asset, free, used, total in rows:
        grid.add_row(asset, num(free), num(used), num(total))
    return grid


def _show_row(data: dict[str, Any]) -> None:
    from cli.output import show

    show(_balance_table([(data["asset"], data["free"], data["used"], data["total"])]))


def _orders_table(orders: list[dict[str, Any]], title: str | None = None) -> Table:
    from cli.output import num, side, status, table, when

    grid = table(
        "ID", "Time", "Symbol", "Side", "Type", "Amount", "Price", "Filled", "Average", "Cost", "Fee", "Status",
        title=title, numeric=("Amount", "Price", "Filled", "Average", "Cost", "Fee"),
    )  # fmt: skip
    for o in orders:
        grid.add_row(
            str(o["id"]), when(o.get("timestamp")), o["symbol"], side(o["side"]), o["type"], num(o["amount"]),
            num(o.get("price")), num(o.get("filled")), num(o.get("average")), num(o.get("cost")), _fee(o.get("fee")),
            status(o["status"]),
        )  # fmt: skip
    return grid


def _show_order(o: dict[str, Any]) -> None:
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
        ("fee", _fee(o.get("fee"))),
        ("created", when(o.get("timestamp"))),
        ("last trade", when(o.get("lastTradeTimestamp"))),
    ]
    show(pairs([(k, v) for k, v in rows if v], title=f"Order {o['id']}"))


def _trades_table(trades: list[dict[str, Any]]) -> Table:
    from cli.output import num, side, table, when

    grid = table(
        "ID", "Time", "Order", "Symbol", "Side", "Role", "Amount", "Price", "Cost", "Fee",
        numeric=("Amount", "Price", "Cost", "Fee"),
    )  # fmt: skip
    for t in trades:
        grid.add_row(
            str(t["id"]), when(t.get("timestamp")), str(t.get("order") or ""), t["symbol"], side(t["side"]),
            t.get("takerOrMaker") or "", num(t["amount"]), num(t["price"]), num(t["cost"]), _fee(t.get("fee")),
        )  # fmt: skip
    return grid


def _tickers_table(tickers: list[dict[str, Any]]) -> Table:
    from cli.output import num, signed, table, when

    grid = table(
        "Symbol", "Last", "Bid", "Ask", "High", "Low", "Change", "Change %", "Time",
        numeric=("Last", "Bid", "Ask", "High", "Low", "Change", "Change %"),
    )  # fmt: skip
    for t in tickers:
        grid.add_row(
            t["symbol"], num(t.get("last")), num(t.get("bid")), num(t.get("ask")), num(t.get("high")),
            num(t.get("low")), signed(t.get("change")), signed(t.get("percentage")), when(t.get("timestamp")),
        )  # fmt: skip
    return grid


def _hint_no_prices() -> None:
    from cli.output import note

    note("No prices yet: set one with `mockx set-price BTC/USDT 50000`, or run `mockx up --feed synthetic`.")


# portfolio -------------------------------------------------------------------------------------------------
@click.command("balance")
@click.argument("asset", required=False)
@json_option
@api_options
def balance(api: Api, asset: str | None, as_json: bool) -> None:
    """Show the balances: every asset's free, used (reserved by open orders) and total; or one ASSET."""
    from cli.output import echo_json, note, show

    reply = api.get(_path("balance", asset)) if asset else api.get("/balance")
    if as_json:
        echo_json(reply.text)
        return
    if asset:
        _show_row(reply.data)
        return
    data = reply.data
    rows = [(a, data["free"].get(a), data["used"].get(a), data["total"].get(a)) for a in sorted(data["total"])]
    if not rows:
        note("No balances yet: fund the account with `mockx fund USDT 100000`.")
        return
    show(_balance_table(rows))


@click.command("fund")
@click.argument("asset")
@click.argument("amount", type=NUMBER)
@json_option
@api_options
def fund(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Credit AMOUNT of ASSET to the free balance (admin; counts as a deposit)."""
    _move_balance(api, "/admin/fund", {"asset": asset, "amount": amount}, as_json)


def _move_balance(api: Api, path: str, body: dict[str, str], as_json: bool) -> None:
    """POST a balance change and show the balance row the API answers with."""
    from cli.output import echo_json

    reply = api.post(path, body)
    if as_json:
        echo_json(reply.text)
    else:
        _show_row(reply.data)


@click.command("deposit")
@click.argument("asset")
@click.argument("amount", type=NUMBER)
@json_option
@api_options
def deposit(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Deposit AMOUNT of ASSET into the free balance."""
    _move_balance(api, _path("balance", asset, "deposit"), {"amount": amount}, as_json)


@click.command("withdraw")
@click.argument("asset")
@click.argument("amount", type=NUMBER)
@json_option
@api_options
def withdraw(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Withdraw AMOUNT of ASSET from the free balance (InsufficientFunds if less is free)."""
    _move_balance(api, _path("balance", asset, "withdrawal"), {"amount": amount}, as_json)


# market data -----------------------------------------------------------------------------------------------
@click.command("ticker")
@click.argument("symbol")
@json_option
@api_options
def ticker(api: Api, symbol: str, as_json: bool) -> None:
    """Show the ticker of SYMBOL (BTC/USDT, BTCUSDT or BTC-USDT)."""
    from cli.output import echo_json, num, pairs, show, signed, when

    reply = api.get(_path("tickers", symbol))
    if as_json:
        echo_json(reply.text)
        return
    t = reply.data
    rows = [
        ("last", num(t.get("last"))),
        ("bid", num(t.get("bid"))),
        ("ask", num(t.get("ask"))),
        ("open", num(t.get("open"))),
        ("high", num(t.get("high"))),
        ("low", num(t.get("low"))),
        ("change", signed(t.get("change"))),
        ("change %", signed(t.get("percentage"))),
        ("volume", num(t.get("baseVolume"))),
        ("time", when(t.get("timestamp"))),
    ]
    show(pairs([(k, v) for k, v in rows if v], title=t["symbol"]))


@click.command("tickers")
@json_option
@api_options
def tickers(api: Api, as_json: bool) -> None:
    """Show the ticker of every symbol that has a price."""
    from cli.output import echo_json, show

    reply = api.get("/tickers")
    if as_json:
        echo_json(reply.text)
        return
    if not reply.data:
        _hint_no_prices()
        return
    show(_tickers_table([reply.data[s] for s in sorted(reply.data)]))


@click.command("markets")
@json_option
@api_options
def markets(api: Api, as_json: bool) -> None:
    """Show the markets: precision (price tick, amount step), limits and fees."""
    from cli.output import echo_json, num, show, table

    reply = api.get("/markets")
    if as_json:
        echo_json(reply.text)
        return
    if not reply.data:
        _hint_no_prices()
        return
    grid = table(
        "Symbol", "Base", "Quote", "Price tick", "Amount step", "Min amount", "Min cost", "Taker", "Maker",
        numeric=("Price tick", "Amount step", "Min amount", "Min cost", "Taker", "Maker"),
    )  # fmt: skip
    for m in reply.data:
        limits, precision = m.get("limits") or {}, m.get("precision") or {}
        grid.add_row(
            m["symbol"], m["base"], m["quote"], num(precision.get("price")), num(precision.get("amount")),
            num((limits.get("amount") or {}).get("min")), num((limits.get("cost") or {}).get("min")),
            num(m.get("taker")), num(m.get("maker")),
        )  # fmt: skip
    show(grid)


# orders ----------------------------------------------------------------------------------------------------
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
        _show_order(reply.data)


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
    show(_orders_table(reply.data))


@click.command("order-info")
@click.argument("order_id", metavar="ID")
@json_option
@api_options
def order_info(api: Api, order_id: str, as_json: bool) -> None:
    """Show one order, by id or by client order id."""
    from cli.output import echo_json

    reply = api.get(_path("orders", order_id))
    if as_json:
        echo_json(reply.text)
    else:
        _show_order(reply.data)


@click.command("cancel")
@click.argument("order_id", metavar="ID")
@json_option
@api_options
def cancel(api: Api, order_id: str, as_json: bool) -> None:
    """Cancel an open order (by id or client order id); its reserved funds are released."""
    from cli.output import echo_json

    reply = api.post(_path("orders", order_id, "cancel"))
    if as_json:
        echo_json(reply.text)
    else:
        _show_order(reply.data)


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
    show(_trades_table(reply.data))


# overview --------------------------------------------------------------------------------------------------
SECTIONS = ("assets", "trades", "capital")


@click.command("overview")
@click.argument("section", required=False, type=click.Choice(SECTIONS, case_sensitive=False))
@json_option
@api_options
def overview(api: Api, section: str | None, as_json: bool) -> None:
    """Show the portfolio valued in the cash asset, trade statistics and capital (all three by default)."""
    from cli.output import echo_json

    chosen = [section.lower()] if section else list(SECTIONS)
    replies = {name: api.get(_path("overview", name)) for name in chosen}
    if as_json and section:
        echo_json(replies[chosen[0]].text)
    elif as_json:
        echo_json("{" + ",".join(f'"{name}":{reply.text.strip()}' for name, reply in replies.items()) + "}")
    else:
        for name, reply in replies.items():
            {"assets": _overview_assets, "trades": _overview_trades, "capital": _overview_capital}[name](reply.data)


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
    if data.get("unpriced"):
        from cli.output import note

        note(f"Not valued (no {cash} price): {', '.join(data['unpriced'])}")


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
    if data.get("unpriced"):
        from cli.output import note

        note(f"Not valued (no {cash} price): {', '.join(data['unpriced'])}")


# admin -----------------------------------------------------------------------------------------------------
@click.command("set-price")
@click.argument("symbol")
@click.argument("price", type=NUMBER)
@click.option("--bid", type=NUMBER, help="Best bid.  [default: PRICE]")
@click.option("--ask", type=NUMBER, help="Best ask.  [default: PRICE]")
@json_option
@api_options
def set_price(api: Api, symbol: str, price: str, bid: str | None, ask: str | None, as_json: bool) -> None:
    """Publish a price tick for SYMBOL and wait until the orders it crosses are filled (admin)."""
    from cli.output import echo_json, num

    body: dict[str, Any] = {"price": price}
    if bid is not None:
        body["bid"] = bid
    if ask is not None:
        body["ask"] = ask
    reply = api.request("PATCH", _path("admin", "tickers", symbol, "price"), body=body)
    if as_json:
        echo_json(reply.text)
        return
    data, t = reply.data, reply.data["ticker"]
    line = f"{data['symbol']} {num(t['last'])} (bid {num(t.get('bid'))}, ask {num(t.get('ask'))})"
    filled = int(data.get("filled") or 0)
    if filled:  # a worker may apply the same tick first; then its fills are counted there, not here
        line += f": {filled} order{'' if filled == 1 else 's'} filled"
    click.echo(line)


@click.command("reset-data")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@api_options
def reset_data(api: Api, yes: bool, as_json: bool) -> None:
    """Wipe every balance, order, trade and event (markets and prices stay): a clean slate (admin)."""
    from cli.output import echo_json

    if not yes:
        question = f"Wipe every balance, order, trade and event of the exchange at {api.url}?"
        try:
            confirmed = click.confirm(question, default=False, err=True)
        except click.Abort:  # no answer (end of input)
            click.echo(err=True)
            confirmed = False
        if not confirmed:
            fail("nothing was wiped (pass --yes to skip the question)")
    reply = api.request("DELETE", "/admin/data")
    if as_json:
        echo_json(reply.text)
    else:
        click.echo(f"Reset: {reply.data.get('message') or 'done'}")


@click.command("health")
@click.option(
    "--min-workers", type=click.IntRange(0), default=0, show_default=True, help="Degraded below this many workers."
)
@json_option
@api_options
def health(api: Api, min_workers: int, as_json: bool) -> None:
    """Check the exchange: Valkey reachable, settlement workers alive, price backlog, versions.

    Exits 0 when healthy, 1 when degraded or Valkey is unreachable.
    """
    from cli.client import decode, refused

    reply = api.request("GET", "/admin/health", params={"minWorkers": min_workers or None}, accept=(503,))
    data = decode(reply.text)
    if "status" not in data:
        refused(reply.status, reply.text, f"GET {api.url}/admin/health")
    if as_json:
        from cli.output import echo_json

        echo_json(reply.text)
    else:
        _show_health(api.url, data)
    if data.get("status") != "ok":
        raise SystemExit(1)


def _show_health(url: str, data: dict[str, Any]) -> None:
    from cli.output import num, pairs, show, status, table

    valkey = data.get("valkey") or {}
    if valkey.get("reachable"):
        name = "valkey" if "valkey" in (data.get("versions") or {}) else "redis"
        store = f"reachable ({name} {valkey.get('version') or '?'}, {num(valkey.get('latencyMs'))} ms)"
    else:
        store = f"[red]unreachable[/] ({valkey.get('error') or 'no answer'})"
    prices = data.get("prices") or {}
    rows = [
        ("status", status(data.get("status"))),
        ("api", url),
        ("valkey", store),
        ("workers alive", str(data.get("workersAlive", 0))),
    ]
    if prices:
        waiting = f"lag {prices.get('lag') or 0}, pending {prices.get('pending') or 0}"
        rows.append(("price stream", f"{prices.get('stream')}: {prices.get('length')} entries, {waiting}"))
    versions = data.get("versions") or {}
    rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    for problem in data.get("problems") or []:
        rows.append(("problem", f"[yellow]{problem}[/]"))
    show(pairs(rows, title="Health"))
    workers = data.get("workers") or []
    if workers:
        numeric = ("Ticks", "Fills", "Errors", "PID")
        grid = table("Worker", "Healthy", *numeric, numeric=numeric)
        for w in workers:
            beat = w.get("heartbeat") or {}
            healthy = beat.get("healthy")
            grid.add_row(
                w["name"],
                "" if healthy is None else status("ok" if healthy else "unavailable"),
                num(beat.get("processed")),
                num(beat.get("filled")),
                num(beat.get("errors")),
                num(beat.get("pid")),
            )
        show(grid)


COMMANDS: list[click.Command] = [
    balance,
    fund,
    deposit,
    withdraw,
    ticker,
    tickers,
    markets,
    order,
    can_execute,
    orders,
    order_info,
    cancel,
    trades,
    overview,
    set_price,
    reset_data,
    health,
]
