"""`mockx` commands on market data: ticker, tickers, markets, candles, book, prints.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

from typing import Any

import rich_click as click

from cli.client import Api, api_options, json_option, url_path
from cli.render import answer, tickers_table

NO_PRICES = "No prices yet: set one with `mockx set-price BTC/USDT 50000`, or run `mockx up --feed synthetic`."


@click.command("ticker")
@click.argument("symbol")
@json_option
@api_options
def ticker(api: Api, symbol: str, as_json: bool) -> None:
    """Show the ticker of SYMBOL (BTC/USDT, BTCUSDT or BTC-USDT)."""
    answer(api.get(url_path("tickers", symbol)), as_json, _show_ticker)


def _show_ticker(t: dict[str, Any]) -> None:
    from cli.output import age, num, pairs, show, signed, when

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
        ("age", age(t.get("timestamp"))),
    ]
    show(pairs([(k, v) for k, v in rows if v], title=t["symbol"]))


@click.command("tickers")
@json_option
@api_options
def tickers(api: Api, as_json: bool) -> None:
    """Show the ticker of every symbol that has a price, and how old it is.

    A symbol stays tradable at its last price however old it is (a feed that stopped long ago, a price kept
    through `mockx reset-data`): the Age column says how long ago that price arrived.
    """
    from cli.output import show

    answer(
        api.get("/tickers"), as_json, lambda data: show(tickers_table([data[s] for s in sorted(data)])), empty=NO_PRICES
    )


@click.command("markets")
@json_option
@api_options
def markets(api: Api, as_json: bool) -> None:
    """Show the markets: precision (price tick, amount step), limits and fees."""
    answer(api.get("/markets"), as_json, _show_markets, empty=NO_PRICES)


def _show_markets(data: list[dict[str, Any]]) -> None:
    from cli.output import num, show, table

    grid = table(
        "Symbol", "Base", "Quote", "Price tick", "Amount step", "Min amount", "Min cost", "Taker", "Maker",
        numeric=("Price tick", "Amount step", "Min amount", "Min cost", "Taker", "Maker"),
    )  # fmt: skip
    for m in data:
        limits, precision = m.get("limits") or {}, m.get("precision") or {}
        grid.add_row(
            m["symbol"], m["base"], m["quote"], num(precision.get("price")), num(precision.get("amount")),
            num((limits.get("amount") or {}).get("min")), num((limits.get("cost") or {}).get("min")),
            num(m.get("taker")), num(m.get("maker")),
        )  # fmt: skip
    show(grid)


TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M")


@click.command("candles")
@click.argument("symbol")
@click.option(
    "--timeframe", "-t", type=click.Choice(TIMEFRAMES), default="1m", show_default=True, help="candle interval"
)
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=20, show_default=True, help="how many candles")
@click.option("--since", type=click.IntRange(min=0), default=None, help="oldest open time, ms since the epoch")
@json_option
@api_options
def candles(api: Api, symbol: str, timeframe: str, limit: int, since: int | None, as_json: bool) -> None:
    """Show the latest candles (OHLCV) of SYMBOL, oldest first: `--json` prints the ccxt arrays."""
    params: dict[str, Any] = {"timeframe": timeframe, "limit": limit}
    if since is not None:
        params["since"] = since
    answer(api.get(url_path("markets", symbol, "ohlcv"), **params), as_json, _show_candles, empty="No candles yet.")


def _show_candles(data: list[list[Any]]) -> None:
    from cli.output import num, show, table, when

    grid = table(
        "Open time", "Open", "High", "Low", "Close", "Volume", numeric=("Open", "High", "Low", "Close", "Volume")
    )
    for ts, o, h, low, c, v in data:
        grid.add_row(when(ts), num(o), num(h), num(low), num(c), num(v))
    show(grid)


@click.command("book")
@click.argument("symbol")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Levels per side (default all, at most BOOK_LEVELS)."
)
@json_option
@api_options
def book(api: Api, symbol: str, limit: int | None, as_json: bool) -> None:
    """Show the order book of SYMBOL: bids and asks side by side, best first, with its update id (nonce).

    The book is the feed's (`bids` / `asks` in its ticks) or a synthetic one around bid and ask, as
    `BOOK_MODEL` says; it is the book orders will be filled against.
    """
    answer(api.get(url_path("markets", symbol, "orderbook"), limit=limit), as_json, _show_book)


def _show_book(b: dict[str, Any]) -> None:
    from cli.output import num, show, table, when

    grid = table(
        "Bid amount", "Bid", "Ask", "Ask amount", numeric=("Bid amount", "Bid", "Ask", "Ask amount"),
        title=f"{b['symbol']}  nonce {b['nonce']}  {when(b.get('timestamp'))}",
    )  # fmt: skip
    bids, asks = b.get("bids") or [], b.get("asks") or []
    for i in range(max(len(bids), len(asks))):
        bid = bids[i] if i < len(bids) else ("", "")
        ask = asks[i] if i < len(asks) else ("", "")
        grid.add_row(num(bid[1]), num(bid[0]), num(ask[0]), num(ask[1]))
    show(grid)


@click.command("prints")
@click.argument("symbol")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="The newest this many (default 500, at most 1000)."
)
@json_option
@api_options
def prints(api: Api, symbol: str, limit: int | None, as_json: bool) -> None:
    """Show the public trades of SYMBOL, oldest first: the ticks of the feed that carry a `qty`."""
    answer(
        api.get(url_path("markets", symbol, "trades"), limit=limit),
        as_json,
        _show_prints,
        empty=f"No public trades of {symbol} yet: they come from price ticks with a `qty` field.",
    )


def _show_prints(trades: list[dict[str, Any]]) -> None:
    from cli.output import num, show, side, table, when

    grid = table("ID", "Time", "Side", "Price", "Amount", "Cost", numeric=("Price", "Amount", "Cost"))
    for t in trades:
        grid.add_row(
            str(t["id"]), when(t.get("timestamp"), millis=True), side(t["side"]), num(t["price"]), num(t["amount"]),
            num(t["cost"]),
        )  # fmt: skip
    show(grid)


COMMANDS: list[click.Command] = [
    ticker,
    tickers,
    markets,
    candles,
    book,
    prints,
]
