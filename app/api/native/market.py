"""Market data: tickers, order books, public trades and the market registry (the exchange's, the same for every
account)."""

from __future__ import annotations

from typing import Annotated

from litestar import MediaType, Response, get
from litestar.params import FromPath, Parameter, QueryParameter

from app.api.common.codec import ExactResponse
from app.api.common.deps import SharedDep
from app.api.native import ccxt
from app.api.native.ccxt import Market, OrderBook, PublicTrade, Ticker
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.api.native.schemas import SymbolPath
from app.engine.book import TRADES_MAX
from app.engine.candles import LIMIT_DEFAULT, LIMIT_MAX, TIMEFRAMES
from app.engine.exchange import Exchange

Timeframe = Annotated[str, Parameter(description=f"One of {', '.join(TIMEFRAMES)}", examples=None)]
Since = Annotated[int | None, Parameter(ge=0, description="The oldest candle open time to return (ms, inclusive)")]
Until = Annotated[int | None, Parameter(ge=0, description="The newest candle open time to return (ms, inclusive)")]
Limit = Annotated[
    int | None, Parameter(description=f"Most candles to return (default {LIMIT_DEFAULT}, at most {LIMIT_MAX})")
]


async def _ohlcv(
    exchange: Exchange, symbol: str, timeframe: str, since: int | None, until: int | None, limit: int | None
) -> Response[list[list[object]]]:
    candles = await exchange.fetch_ohlcv(symbol, timeframe, since, until, limit)
    return ExactResponse([c.ohlcv() for c in candles], media_type=MediaType.JSON)


BookLimit = Annotated[
    int | None, QueryParameter(ge=1, le=1000, description="Levels per side (default all, at most BOOK_LEVELS)")
]
TradesLimit = Annotated[
    int | None, QueryParameter(ge=1, le=TRADES_MAX, description=f"Trades (default 500, at most {TRADES_MAX})")
]


class MarketController(NativeController):
    tags = ("Market data",)

    @get("/tickers", responses=responses())
    async def tickers(self, exchange: SharedDep) -> Response[dict[str, Ticker]]:
        """Every symbol that has a price, as ccxt tickers keyed by symbol."""
        return ExactResponse(ccxt.tickers_json(await exchange.fetch_tickers()), media_type=MediaType.JSON)

    @get("/tickers/{symbol:str}", responses=responses(404))
    async def ticker(self, exchange: SharedDep, symbol: SymbolPath) -> Ticker:
        """One ccxt ticker: last, bid, ask and the 24 h open/high/low/change the ticks allow."""
        return ccxt.ticker(await exchange.fetch_ticker(symbol))

    @get("/tickers/{base:str}/{quote:str}", include_in_schema=False)
    async def ticker_slash(self, exchange: SharedDep, base: FromPath[str], quote: FromPath[str]) -> Ticker:
        return ccxt.ticker(await exchange.fetch_ticker(f"{base}/{quote}"))

    @get("/markets", responses=responses())
    async def markets(self, exchange: SharedDep) -> list[Market]:
        """The market registry in ccxt's market shape: precision (tick sizes) and limits."""
        return [ccxt.market(m) for m in await exchange.fetch_markets()]

    @get("/markets/{symbol:str}/ohlcv", responses=responses())
    async def ohlcv(
        self,
        exchange: SharedDep,
        symbol: SymbolPath,
        timeframe: Timeframe = "1m",
        since: Since = None,
        until: Until = None,
        limit: Limit = None,
    ) -> Response[list[list[object]]]:
        """Candles as ccxt OHLCV arrays ``[[ts, open, high, low, close, volume], ...]``, oldest first, exact
        numbers. Without ``since``: the last ``limit`` intervals up to ``until`` (or now)."""
        return await _ohlcv(exchange, symbol, timeframe, since, until, limit)

    @get("/markets/{base:str}/{quote:str}/ohlcv", include_in_schema=False)
    async def ohlcv_slash(
        self,
        exchange: SharedDep,
        base: FromPath[str],
        quote: FromPath[str],
        timeframe: Timeframe = "1m",
        since: Since = None,
        until: Until = None,
        limit: Limit = None,
    ) -> Response[list[list[object]]]:
        return await _ohlcv(exchange, f"{base}/{quote}", timeframe, since, until, limit)

    @get("/markets/{symbol:str}/orderbook", responses=responses())
    async def order_book(self, exchange: SharedDep, symbol: SymbolPath, limit: BookLimit = None) -> OrderBook:
        """The order book as ccxt's ``fetchOrderBook`` gives it (``BOOK_MODEL``: the feed's, or synthetic);
        ``nonce`` is its update id. BadSymbol for a symbol without a price yet."""
        return ccxt.order_book(await exchange.order_book(symbol, limit))

    @get("/markets/{base:str}/{quote:str}/orderbook", include_in_schema=False)
    async def order_book_slash(
        self, exchange: SharedDep, base: FromPath[str], quote: FromPath[str], limit: BookLimit = None
    ) -> OrderBook:
        return ccxt.order_book(await exchange.order_book(f"{base}/{quote}", limit))

    @get("/markets/{symbol:str}/trades", responses=responses())
    async def trades(self, exchange: SharedDep, symbol: SymbolPath, limit: TradesLimit = None) -> list[PublicTrade]:
        """The newest public trades (the feed's prints), oldest first, as ccxt's ``fetchTrades`` gives them."""
        return [ccxt.public_trade(t) for t in await exchange.public_trades(symbol, limit)]

    @get("/markets/{base:str}/{quote:str}/trades", include_in_schema=False)
    async def trades_slash(
        self, exchange: SharedDep, base: FromPath[str], quote: FromPath[str], limit: TradesLimit = None
    ) -> list[PublicTrade]:
        return [ccxt.public_trade(t) for t in await exchange.public_trades(f"{base}/{quote}", limit)]
