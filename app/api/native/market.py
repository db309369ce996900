"""Market data: tickers and the market registry."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from app.api.common.deps import ExchangeDep
from app.api.common.errors import responses
from app.api.native.schemas import SymbolPath
from app.engine.models import Market, Ticker


class MarketController(Controller):
    tags = ("Market data",)

    @get("/tickers", responses=responses())
    async def tickers(self, exchange: ExchangeDep) -> dict[str, Ticker]:
        """Every symbol that has a price, as ccxt tickers keyed by symbol."""
        return await exchange.fetch_tickers()

    @get("/tickers/{symbol:str}", responses=responses(404))
    async def ticker(self, exchange: ExchangeDep, symbol: SymbolPath) -> Ticker:
        """One ccxt ticker: last, bid, ask and the 24 h open/high/low/change the ticks allow."""
        return await exchange.fetch_ticker(symbol)

    @get("/tickers/{base:str}/{quote:str}", include_in_schema=False)
    async def ticker_slash(self, exchange: ExchangeDep, base: FromPath[str], quote: FromPath[str]) -> Ticker:
        return await exchange.fetch_ticker(f"{base}/{quote}")

    @get("/markets", responses=responses())
    async def markets(self, exchange: ExchangeDep) -> list[Market]:
        """The market registry in ccxt's market shape: precision (tick sizes) and limits."""
        return await exchange.fetch_markets()
