"""The market registry: which symbols trade, and with which precision and limits.

A symbol becomes tradable when its first price arrives; it then gets the permissive default below
(every amount and price to 8 decimals, no minimum notional). Markets can be declared up front with
realistic filters, in ``MARKETS`` (JSON) or ``MARKETS_FILE`` (a JSON file), as a list of objects::

    [{"symbol": "BTC/USDT", "price_tick": "0.01", "amount_step": "0.00001",
      "min_amount": "0.00001", "min_notional": "5"}]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import msgspec

from app.engine.errors import BadSymbol
from app.engine.money import (
    PRICE_DIGITS,
    QUANTUM,
    MoneyError,
    is_multiple,
    parse_decimal,
    price_str,
    significant_digits,
)
from app.store.records import MarketRecord

# Always matched in full (``$`` would also match before a trailing newline).
_SYMBOL = re.compile(r"([A-Z0-9]{1,20})/([A-Z0-9]{1,20})")
_SPLIT = re.compile(r"([A-Z0-9]{1,20})[-_:]([A-Z0-9]{1,20})")
# Quote assets tried, longest first, when a symbol arrives without a separator (BTCUSDT).
COMMON_QUOTES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "EUR", "USD", "TRY", "BTC", "ETH", "BNB", "DAI")


class MarketSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A declared market, as written in MARKETS / MARKETS_FILE."""

    symbol: str
    price_tick: str = "0.00000001"
    amount_step: str = "0.00000001"
    min_amount: str | None = None
    min_notional: str = "0"


def split_symbol(symbol: str) -> tuple[str, str]:
    """``BASE/QUOTE`` -> (base, quote); raises :class:`BadSymbol` for anything else."""
    m = _SYMBOL.fullmatch(symbol)
    if not m or m.group(1) == m.group(2):
        raise BadSymbol(f"{symbol!r} is not a symbol: use BASE/QUOTE in capitals, like BTC/USDT")
    return m.group(1), m.group(2)


def normalize_symbol(raw: str, known: set[str] | frozenset[str] = frozenset()) -> str:
    """Accept ``BTC/USDT``, ``btc/usdt``, ``BTC-USDT``, ``BTC_USDT`` and ``BTCUSDT``; return ``BTC/USDT``."""
    text = raw.upper()  # nothing stripped: "BTC/USDT\n" is no symbol
    if _SYMBOL.fullmatch(text):
        split_symbol(text)
        return text
    m = _SPLIT.fullmatch(text)
    if m:
        return f"{m.group(1)}/{m.group(2)}"
    if re.fullmatch(r"[A-Z0-9]{2,40}", text):
        for symbol in known:
            if symbol.replace("/", "") == text:
                return symbol
        for quote in COMMON_QUOTES:
            if text.endswith(quote) and len(text) > len(quote):
                return f"{text[: -len(quote)]}/{quote}"
    raise BadSymbol(f"{raw!r} is not a symbol: use BASE/QUOTE, like BTC/USDT (BTCUSDT and BTC-USDT work too)")


def default_market(symbol: str) -> MarketRecord:
    """The market a symbol gets with its first price: 8 decimals for price and amount, no minimum."""
    base, quote = split_symbol(symbol)
    q = price_str(QUANTUM)
    return MarketRecord(sym=symbol, base=base, quote=quote, tick=q, step=q, min_amt=q, min_cost="0")


def declared_market(spec: MarketSpec) -> MarketRecord:
    symbol = normalize_symbol(spec.symbol)
    base, quote = split_symbol(symbol)
    values = {}
    for name, raw in (
        ("price_tick", spec.price_tick),
        ("amount_step", spec.amount_step),
        ("min_amount", spec.min_amount or spec.amount_step),
        ("min_notional", spec.min_notional),
    ):
        number = parse_decimal(raw, f"{symbol} {name}")
        if number < 0 or (number == 0 and name != "min_notional"):
            raise MoneyError(f"{symbol} {name} must be positive, got {raw}")
        if number != number.quantize(QUANTUM) and name != "min_notional":
            raise MoneyError(f"{symbol} {name} {raw} has more than 8 decimal places")
        values[name] = price_str(number)
    return MarketRecord(
        sym=symbol,
        base=base,
        quote=quote,
        tick=values["price_tick"],
        step=values["amount_step"],
        min_amt=values["min_amount"],
        min_cost=values["min_notional"],
        source="declared",
    )


def load_declared(inline: str, path: Path | None, preset: Sequence[MarketSpec] = ()) -> list[MarketRecord]:
    """Markets declared in ``MARKETS`` (JSON text) and ``MARKETS_FILE`` (a JSON file), after those of a
    ``preset`` (:mod:`app.engine.presets`), which they override symbol by symbol."""
    specs: list[MarketSpec] = list(preset)
    for origin, text in (("MARKETS", inline), ("MARKETS_FILE", _read(path))):
        if not text.strip():
            continue
        try:
            specs.extend(msgspec.json.decode(text, type=list[MarketSpec]))
        except msgspec.DecodeError as exc:
            raise ValueError(f"{origin} is not a JSON list of markets: {exc}") from None
    try:
        return [declared_market(s) for s in specs]
    except (MoneyError, BadSymbol) as exc:
        raise ValueError(f"declared markets: {exc}") from None


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"MARKETS_FILE {path} cannot be read: {exc.strerror}") from None


def validate_price(price: Decimal, market: MarketRecord) -> None:
    """Raise MoneyError unless ``price`` is positive, on the market's tick and exactly orderable."""
    if price <= 0:
        raise MoneyError(f"price must be positive, got {price_str(price)}")
    if not is_multiple(price, Decimal(market.tick)):
        raise MoneyError(f"price {price_str(price)} is not a multiple of the price tick {market.tick} of {market.sym}")
    if significant_digits(price) > PRICE_DIGITS:
        raise MoneyError(f"price {price_str(price)} has more than {PRICE_DIGITS} significant digits")
