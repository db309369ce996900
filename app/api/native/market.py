"""Market data: tickers and the market registry (the exchange's, the same for every account)."""

from __future__ import annotations

from litestar import MediaType, Response, get
from litestar.params import FromPath

from app.api.common.codec import ExactResponse
from app.api.common.deps import SharedDep
from app.api.native import ccxt
from app.api.native.ccxt import Market, Ticker
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.api.native.schemas import SymbolPath


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
