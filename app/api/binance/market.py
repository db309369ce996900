"""Binance's public market data: ping, time, exchangeInfo, depth, trades, klines, avgPrice and the tickers.

Everything comes from the engine's market data (the market registry, the tickers, the book model, the tape,
the candles); numbers are 8-decimal strings. ``/api/v1`` serves the same as ``/api/v3``, and
``/fapi/v1`` / ``/dapi/v1`` ``exchangeInfo`` list no markets (MockX is spot only: ccxt.pro would file spot
events under a same-named swap market otherwise).
"""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get

from app.api.binance.errors import BinanceError
from app.api.binance.params import Params
from app.api.binance.serialize import Json, binance_symbol, num
from app.api.binance.symbols import index_of, symbol_info
from app.api.binance.wire import json_response, v3
from app.engine.candles import TIMEFRAMES, Candle, next_open
from app.engine.exchange import Exchange
from app.engine.models import Ticker
from app.engine.money import CTX

RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]
DAY_MS = 86_400_000


def _shared(request: Request[Any, Any, Any]) -> Exchange:
    ex: Exchange = request.app.state.exchange
    return ex


@get(v3("/ping"), opt={"weight": 1})
async def ping() -> Response[bytes]:
    return json_response({})


@get(v3("/time"), opt={"weight": 1})
async def server_time() -> Response[bytes]:
    return json_response({"serverTime": int(time.time() * 1000)})


@get(v3("/exchangeInfo"), opt={"weight": 20})
async def exchange_info(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every market, or those of ``symbol`` / ``symbols``; ``permissions`` other than SPOT list none."""
    params = await Params.of(request)
    index = index_of(request.app.state)
    by_name = await index.reload(_shared(request))
    wanted: list[str] | None = None
    if (one := params.symbol(required=False)) is not None:
        wanted = [one]
    elif (many := params.symbols()) is not None:
        wanted = many
    if wanted is not None:
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise BinanceError(-1121, "Invalid symbol.")
        names = wanted
    else:
        names = sorted(by_name)
    permissions = params.text("permissions")
    if permissions is not None and "SPOT" not in permissions:
        names = []
    return json_response(
        {
            "timezone": "UTC",
            "serverTime": int(time.time() * 1000),
            "rateLimits": RATE_LIMITS,
            "exchangeFilters": [],
            "symbols": [symbol_info(by_name[n], index.limits(by_name[n])) for n in names],
        }
    )


@get(["/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"], opt={"weight": 1})
async def futures_exchange_info() -> Response[bytes]:
    """No futures here: an empty list keeps ccxt's default load_markets working."""
    now = int(time.time() * 1000)
    return json_response(
        {"timezone": "UTC", "serverTime": now, "rateLimits": [], "exchangeFilters": [], "assets": [], "symbols": []}
    )


async def _symbol(request: Request[Any, Any, Any], params: Params) -> str:
    name = params.symbol()
    assert name is not None
    return (await index_of(request.app.state).get(_shared(request), name)).sym


@get(v3("/depth"), opt={"weight": 5})
async def depth(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    symbol = await _symbol(request, params)
    ex = _shared(request)
    limit = params.limit(100, 5000)
    book = await ex.order_book(symbol, min(limit, ex.settings.book_levels))
    return json_response(
        {
            "lastUpdateId": book.nonce,
            "bids": [[num(p), num(q)] for p, q in book.bids],
            "asks": [[num(p), num(q)] for p, q in book.asks],
        }
    )


@get(v3(["/trades", "/historicalTrades"]), opt={"weight": 25})
async def trades(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    symbol = await _symbol(request, params)
    from_id = params.integer("fromId")
    prints = await _shared(request).public_trades(symbol, 1000 if from_id is not None else params.limit(500, 1000))
    if from_id is not None:
        prints = [t for t in prints if t.id >= from_id][: params.limit(500, 1000)]
    return json_response(
        [
            {
                "id": t.id,
                "price": num(t.price),
                "qty": num(t.amount),
                "quoteQty": num(CTX.multiply(t.price, t.amount)),
                "time": t.timestamp,
                "isBuyerMaker": t.side == "sell",
                "isBestMatch": True,
            }
            for t in prints
        ]
    )


@get(v3("/aggTrades"), opt={"weight": 4})
async def agg_trades(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    symbol = await _symbol(request, params)
    start, end = params.integer("startTime"), params.integer("endTime")
    from_id = params.integer("fromId")
    limit = params.limit(500, 1000)
    prints = await _shared(request).public_trades(symbol, 1000)
    rows = [
        t
        for t in prints
        if (start is None or t.timestamp >= start)
        and (end is None or t.timestamp <= end)
        and (from_id is None or t.id >= from_id)
    ]
    rows = rows[:limit] if start is not None or from_id is not None else rows[-limit:]
    return json_response(
        [
            {
                "a": t.id,
                "p": num(t.price),
                "q": num(t.amount),
                "f": t.id,
                "l": t.id,
                "T": t.timestamp,
                "m": t.side == "sell",
                "M": True,
            }
            for t in rows
        ]
    )


def kline(timeframe: str, c: Candle) -> list[Any]:
    return [
        c.ts, num(c.open), num(c.high), num(c.low), num(c.close), num(c.volume), next_open(timeframe, c.ts) - 1,
        num(c.quote_volume), c.count, "0.00000000", "0.00000000", "0",
    ]  # fmt: skip


@get(v3(["/klines", "/uiKlines"]), opt={"weight": 2})
async def klines(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    symbol = await _symbol(request, params)
    interval = params.need("interval")
    if interval not in TIMEFRAMES:
        raise BinanceError(-1120, "Invalid interval.")
    start, end = params.integer("startTime"), params.integer("endTime")
    limit = params.limit(500, 1000)
    candles = await _shared(request).fetch_ohlcv(symbol, interval, start, end, limit)
    return json_response([kline(interval, c) for c in candles])


@get(v3("/avgPrice"), opt={"weight": 2})
async def avg_price(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    symbol = await _symbol(request, params)
    ex = _shared(request)
    now = int(time.time() * 1000)
    candles = await ex.fetch_ohlcv(symbol, "1m", now - 5 * 60_000, None, 5)
    volume = sum((c.volume for c in candles), Decimal(0))
    if volume:
        price = CTX.divide(sum((c.quote_volume for c in candles), Decimal(0)), volume)
    else:
        price = (await ex.fetch_ticker(symbol)).last
    close = next_open("1m", candles[-1].ts) - 1 if candles else now
    return json_response({"mins": 5, "price": num(price), "closeTime": close})


async def _tickers(request: Request[Any, Any, Any], params: Params) -> tuple[list[Ticker], bool]:
    """The tickers asked for (``symbol`` or ``symbols``, else all) and whether one symbol was asked for."""
    ex = _shared(request)
    one = params.symbol(required=False)
    many = params.symbols() if one is None else None
    if one is not None:
        return [await ex.fetch_ticker(await _symbol(request, params))], True
    tickers = await ex.fetch_tickers()
    if many is None:
        return [tickers[s] for s in sorted(tickers)], False
    index = index_of(request.app.state)
    wanted = [(await index.get(ex, n)).sym for n in many]
    if any(s not in tickers for s in wanted):
        raise BinanceError(-1121, "Invalid symbol.")
    return [tickers[s] for s in wanted], False


def _percent(t: Ticker) -> str:
    return format((t.percentage or Decimal(0)).quantize(Decimal("0.001")), "f")


def ticker_24h(t: Ticker, mini: bool) -> Json:
    ts = t.timestamp or 0
    out: Json = {"symbol": binance_symbol(t.symbol)}
    if not mini:
        out.update(
            priceChange=num(t.change), priceChangePercent=_percent(t), weightedAvgPrice=num(t.average or t.last),
            prevClosePrice=num(t.open or t.last), lastPrice=num(t.last), lastQty=num(None),
            bidPrice=num(t.bid), bidQty=num(t.bid_volume), askPrice=num(t.ask), askQty=num(t.ask_volume),
        )  # fmt: skip
    out.update(
        openPrice=num(t.open or t.last), highPrice=num(t.high or t.last), lowPrice=num(t.low or t.last),
        lastPrice=num(t.last), volume=num(t.base_volume), quoteVolume=num(t.quote_volume),
        openTime=max(ts - DAY_MS, 0), closeTime=ts, firstId=-1, lastId=-1, count=0,
    )  # fmt: skip
    return out


@get(v3(["/ticker/24hr", "/ticker/tradingDay"]), opt={"weight": 2})
async def ticker_24hr(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The 24 h statistics (``tradingDay`` answers the same window)."""
    params = await Params.of(request)
    kind = params.choice("type", ("FULL", "MINI"), -1139, "Invalid ticker type.") or "FULL"
    tickers, one = await _tickers(request, params)
    rows = [ticker_24h(t, kind == "MINI") for t in tickers]
    return json_response(rows[0] if one else rows)


_WINDOW = re.compile(r"([1-9][0-9]?)([mhd])")
_UNIT = {"m": ("1m", 60_000, 59), "h": ("1h", 3_600_000, 23), "d": ("1d", DAY_MS, 7)}


def _window(params: Params) -> tuple[str, int]:
    """``windowSize`` (1m-59m, 1h-23h, 1d-7d; default 1d) as the candle interval to read and its length in ms."""
    size = params.text("windowSize") or "1d"
    match = _WINDOW.fullmatch(size)
    unit = _UNIT.get(match.group(2)) if match else None
    if match is None or unit is None or int(match.group(1)) > unit[2]:
        raise BinanceError(-1130, "Data sent for parameter 'windowSize' is not valid.")
    return unit[0], int(match.group(1)) * unit[1]


async def rolling(ex: Exchange, t: Ticker, interval: str, length: int, mini: bool) -> Json:
    """The statistics of the window ending now, from the candles of ``interval`` opened in it."""
    now = int(time.time() * 1000)
    candles = await ex.fetch_ohlcv(t.symbol, interval, now - length, None, 1000)
    if not candles:
        return {**ticker_24h(t, mini), "openTime": now - length, "closeTime": now}
    open_, last = candles[0].open, t.last
    volume = sum((c.volume for c in candles), Decimal(0))
    quote = sum((c.quote_volume for c in candles), Decimal(0))
    change = last - open_
    out: Json = {"symbol": binance_symbol(t.symbol)}
    if not mini:
        percent = CTX.divide(change * 100, open_).quantize(Decimal("0.001")) if open_ else Decimal(0)
        out.update(priceChange=num(change), priceChangePercent=format(percent, "f"),
                   weightedAvgPrice=num(CTX.divide(quote, volume) if volume else last))  # fmt: skip
    out.update(
        openPrice=num(open_), highPrice=num(max(c.high for c in candles)), lowPrice=num(min(c.low for c in candles)),
        lastPrice=num(last), volume=num(volume), quoteVolume=num(quote), openTime=now - length, closeTime=now,
        firstId=-1, lastId=-1, count=sum(c.count for c in candles),
    )  # fmt: skip
    return out


@get(v3("/ticker"), opt={"weight": 4})
async def ticker_window(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Rolling-window statistics (``windowSize``, default 1d) of ``symbol`` or ``symbols``."""
    params = await Params.of(request)
    kind = params.choice("type", ("FULL", "MINI"), -1139, "Invalid ticker type.") or "FULL"
    interval, length = _window(params)
    if params.text("symbol") is None and params.text("symbols") is None:
        raise BinanceError(-1102, "Param 'symbol' or 'symbols' must be sent, but both were empty/null!")
    tickers, one = await _tickers(request, params)
    ex = _shared(request)
    rows = [await rolling(ex, t, interval, length, kind == "MINI") for t in tickers]
    return json_response(rows[0] if one else rows)


@get(v3("/ticker/price"), opt={"weight": 2})
async def ticker_price(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    tickers, one = await _tickers(request, params)
    rows = [{"symbol": binance_symbol(t.symbol), "price": num(t.last)} for t in tickers]
    return json_response(rows[0] if one else rows)


@get(v3("/ticker/bookTicker"), opt={"weight": 2})
async def book_ticker(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    tickers, one = await _tickers(request, params)
    rows = [
        {
            "symbol": binance_symbol(t.symbol),
            "bidPrice": num(t.bid or t.last),
            "bidQty": num(t.bid_volume),
            "askPrice": num(t.ask or t.last),
            "askQty": num(t.ask_volume),
        }
        for t in tickers
    ]
    return json_response(rows[0] if one else rows)


HANDLERS = [
    ping, server_time, exchange_info, futures_exchange_info, depth, trades, agg_trades, klines, avg_price,
    ticker_24hr, ticker_window, ticker_price, book_ticker,
]  # fmt: skip
