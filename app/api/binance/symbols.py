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
from app.api.binance.serialize import Json, num
from app.engine import presets
from app.engine.exchange import Exchange
from app.engine.money import MAX_UNITS
from app.engine.presets import Limits
from app.store.records import MarketRecord

#: The maxima of a symbol without a preset: the engine's largest value.
UNLIMITED = Limits(MAX_UNITS, MAX_UNITS, MAX_UNITS)
ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]


class MarketIndex:
    """The market records by Binance symbol name, and the maxima of the market preset in force."""

    def __init__(self, preset: str = "") -> None:
        self.by_name: dict[str, MarketRecord] = {}
        self.preset = preset

    def limits(self, m: MarketRecord) -> Limits:
        return presets.limits(self.preset, m.sym) or UNLIMITED

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
        index = state.binance_markets = MarketIndex(state.exchange.settings.markets_preset)
    return index


def filters(m: MarketRecord, limits: Limits) -> list[Json]:
    tick, step, min_qty = Decimal(m.tick), Decimal(m.step), Decimal(m.min_amt)
    lot = {"minQty": num(min_qty), "maxQty": num(limits.max_amount), "stepSize": num(step)}
    return [
        {"filterType": "PRICE_FILTER", "minPrice": num(tick), "maxPrice": num(limits.max_price), "tickSize": num(tick)},
        {"filterType": "LOT_SIZE", **lot},
        {"filterType": "MARKET_LOT_SIZE", **lot},
        {
            "filterType": "NOTIONAL",
            "minNotional": num(Decimal(m.min_cost)),
            "applyMinToMarket": True,
            "maxNotional": num(limits.max_notional),
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
    ]


def symbol_info(m: MarketRecord, limits: Limits) -> Json:
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
        "ocoAllowed": True,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": filters(m, limits),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def _multiple(value: Decimal, step: Decimal) -> bool:
    return step == 0 or value % step == 0


def check_filters(m: MarketRecord, limits: Limits, quantity: Decimal | None, price: Decimal | None) -> None:
    """PRICE_FILTER, LOT_SIZE (MARKET_LOT_SIZE for a market order) and a limit order's NOTIONAL, as Binance
    checks them (a market order's notional is priced at the touch by the engine)."""
    tick, step, min_qty = Decimal(m.tick), Decimal(m.step), Decimal(m.min_amt)
    if price is not None and (price < tick or price > limits.max_price or not _multiple(price, tick)):
        raise filter_failure("PRICE_FILTER")
    if quantity is None:  # a market order by quoteOrderQty (its amount follows from the price), or a stop price
        return
    if quantity < min_qty or quantity > limits.max_amount or not _multiple(quantity, step):
        raise filter_failure("LOT_SIZE" if price is not None else "MARKET_LOT_SIZE")
    if price is not None and not Decimal(m.min_cost) <= price * quantity <= limits.max_notional:
        raise filter_failure("NOTIONAL")
