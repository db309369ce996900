"""Binance symbol names (``BTCUSDT``) to the engine's markets (``BTC/USDT``), and the market filters.

One :class:`MarketIndex` per process keeps the market records by Binance name; a name it does not know makes
it read the registry again (a market appears with its first price), and a name still unknown is -1121
``Invalid symbol.``. The filters Binance publishes for a symbol are derived from its record (price tick,
amount step, minimum amount and notional) and checked here in Binance's terms (``Filter failure: LOT_SIZE``)
before the engine sees the order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.api.binance.errors import BAD_SYMBOL, BinanceError, filter_failure
from app.api.binance.serialize import MAX_NUMBER, Json, num
from app.engine.exchange import Exchange
from app.engine.money import MAX_UNITS
from app.store.records import MarketRecord

MAX_NOTIONAL = "9000000.00000000"
ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"]


class MarketIndex:
    """The market records by Binance symbol name."""

    def __init__(self) -> None:
        self.by_name: dict[str, MarketRecord] = {}

    async def reload(self, ex: Exchange) -> dict[str, MarketRecord]:
        records = await ex.market_records()
        self.by_name = {r.sym.replace("/", ""): r for r in records.values()}
        return self.by_name

    async def get(self, ex: Exchange, name: str) -> MarketRecord:
        record = self.by_name.get(name)
        if record is None:
            record = (await self.reload(ex)).get(name)
            if record is None:
                raise BinanceError(-1121, BAD_SYMBOL)
        return record


def index_of(state: Any) -> MarketIndex:
    index = getattr(state, "binance_markets", None)
    if index is None:
        index = state.binance_markets = MarketIndex()
    return index


def filters(m: MarketRecord) -> list[Json]:
    tick, step, min_qty = Decimal(m.tick), Decimal(m.step), Decimal(m.min_amt)
    lot = {"minQty": num(min_qty), "maxQty": MAX_NUMBER, "stepSize": num(step)}
    return [
        {"filterType": "PRICE_FILTER", "minPrice": num(tick), "maxPrice": MAX_NUMBER, "tickSize": num(tick)},
        {"filterType": "LOT_SIZE", **lot},
        {"filterType": "MARKET_LOT_SIZE", **lot},
        {
            "filterType": "NOTIONAL",
            "minNotional": num(Decimal(m.min_cost)),
            "applyMinToMarket": True,
            "maxNotional": MAX_NOTIONAL,
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
    ]


def symbol_info(m: MarketRecord) -> Json:
    """One entry of ``exchangeInfo.symbols``."""
    return {
        "symbol": m.sym.replace("/", ""),
        "status": "TRADING",
        "baseAsset": m.base,
        "baseAssetPrecision": 8,
        "quoteAsset": m.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": False,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": filters(m),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def _multiple(value: Decimal, step: Decimal) -> bool:
    return step == 0 or value % step == 0


def check_filters(m: MarketRecord, quantity: Decimal, price: Decimal | None, reference: Decimal | None) -> None:
    """PRICE_FILTER, LOT_SIZE and NOTIONAL as Binance checks them; ``reference`` prices a market order."""
    tick, step, min_qty = Decimal(m.tick), Decimal(m.step), Decimal(m.min_amt)
    if price is not None and (price < tick or price > MAX_UNITS or not _multiple(price, tick)):
        raise filter_failure("PRICE_FILTER")
    if quantity < min_qty or quantity > MAX_UNITS or not _multiple(quantity, step):
        raise filter_failure("LOT_SIZE" if price is not None else "MARKET_LOT_SIZE")
    at = price if price is not None else reference
    if at is not None and at * quantity < Decimal(m.min_cost):
        raise filter_failure("NOTIONAL")
