"""Market filter presets: real exchanges' filters for their common symbols, bundled as package data.

``MARKETS_PRESET=binance`` declares the Binance spot filters of :data:`BINANCE_FILE` (price tick, amount
step, minimum amount and notional) at start, so a bot's LOT_SIZE and NOTIONAL mistakes surface as they
would on Binance. The figures, their source and the date they were read are in the data file; ``MARKETS`` /
``MARKETS_FILE`` override a preset symbol by symbol. The maxima (``max_price``, ``max_amount``,
``max_notional``) are not part of the engine's market record: :func:`limits` serves them to the dialect
that publishes and checks them.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from importlib import resources

import msgspec

from app.engine.markets import MarketSpec

BINANCE_FILE = "binance_markets.json"
PRESETS = {"binance": BINANCE_FILE}


class PresetMarket(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    symbol: str
    price_tick: str
    min_price: str
    max_price: str
    amount_step: str
    min_amount: str
    max_amount: str
    min_notional: str
    max_notional: str


class Preset(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str
    markets: list[PresetMarket]


class Limits(msgspec.Struct, frozen=True):
    """The maxima of a preset symbol."""

    max_price: Decimal
    max_amount: Decimal
    max_notional: Decimal


@lru_cache(maxsize=4)
def preset(name: str) -> Preset:
    """The preset called ``name`` (ValueError for an unknown one)."""
    if name not in PRESETS:
        raise ValueError(f"unknown market preset {name!r}: use one of {', '.join(PRESETS)}")
    text = resources.files("app.engine").joinpath(PRESETS[name]).read_bytes()
    return msgspec.json.decode(text, type=Preset)


def specs(name: str) -> list[MarketSpec]:
    """The preset's markets as declarations (what the engine enforces); none for ``""``."""
    if not name:
        return []
    return [
        MarketSpec(
            symbol=m.symbol,
            price_tick=m.price_tick,
            amount_step=m.amount_step,
            min_amount=m.min_amount,
            min_notional=m.min_notional,
        )
        for m in preset(name).markets
    ]


def limits(name: str, symbol: str) -> Limits | None:
    """The maxima of ``symbol`` (``BTC/USDT``) in the preset, or None when it has none."""
    if not name:
        return None
    for m in preset(name).markets:
        if m.symbol == symbol:
            return Limits(Decimal(m.max_price), Decimal(m.max_amount), Decimal(m.max_notional))
    return None
