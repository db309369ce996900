"""Price ticks: the public price-stream contract and its validation.

A publisher appends to the price stream (default ``mockx:prices``)::

    XADD mockx:prices MAXLEN ~ 100000 * symbol BTC/USDT price 64000.5

Fields: ``symbol`` (``BASE/QUOTE``), ``price`` (decimal string); optional ``bid``, ``ask`` (default: the
price), ``ts`` (ms since the epoch; default: the entry id's time), ``volume`` (24 h base volume),
``bid_qty``, ``ask_qty``. An entry that breaks the contract raises :class:`MalformedTick` with the reason.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from app.engine.errors import BadSymbol
from app.engine.markets import normalize_symbol
from app.engine.money import (
    MAX_UNITS,
    PLAIN_NUMBER,
    PRICE_DIGITS,
    MoneyError,
    parse_decimal,
    plain_digits,
    price_str,
    significant_digits,
)

KNOWN_FIELDS = frozenset({"symbol", "price", "bid", "ask", "ts", "volume", "bid_qty", "ask_qty"})

# A feed spells its few symbols the same way every time: each spelling is normalised once.
_SYMBOLS_KEPT = 10_000
_symbols: dict[str, str] = {}


class MalformedTick(ValueError):
    """A price-stream entry that breaks the contract; the message is the reason."""


class Tick(msgspec.Struct, frozen=True):
    symbol: str
    price: Decimal
    bid: Decimal
    ask: Decimal
    ts: int
    volume: Decimal | None = None
    bid_qty: Decimal | None = None
    ask_qty: Decimal | None = None

    def fields(self) -> dict[str, str]:
        """The stream fields of this tick, as a publisher writes them."""
        out = {"symbol": self.symbol, "price": price_str(self.price), "ts": str(self.ts)}
        if self.bid != self.price:
            out["bid"] = price_str(self.bid)
        if self.ask != self.price:
            out["ask"] = price_str(self.ask)
        for name in ("volume", "bid_qty", "ask_qty"):
            value = getattr(self, name)
            if value is not None:
                out[name] = price_str(value)
        return out

    def settle_values(self) -> list[str]:
        """Price, bid, ask, ts, volume, bid qty and ask qty as the settle scripts take them ("" if missing)."""
        price = price_str(self.price)
        return [
            price,
            price if self.bid is self.price else price_str(self.bid),
            price if self.ask is self.price else price_str(self.ask),
            str(self.ts),
            "" if self.volume is None else price_str(self.volume),
            "" if self.bid_qty is None else price_str(self.bid_qty),
            "" if self.ask_qty is None else price_str(self.ask_qty),
        ]


def entry_ms(entry_id: str) -> int:
    """The time part of a stream entry id ``<ms>-<seq>``."""
    ms, _, seq = entry_id.partition("-")
    if not ms.isdigit() or not seq.isdigit():
        raise MalformedTick(f"entry id {entry_id!r} is not <ms>-<seq>")
    return int(ms)


def _number(fields: dict[str, str], name: str) -> Decimal | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_decimal(raw, name)
    except MoneyError as exc:
        raise MalformedTick(str(exc)) from None


def _price(fields: dict[str, str], name: str) -> Decimal | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) <= PRICE_DIGITS + 2 and PLAIN_NUMBER.fullmatch(raw):  # the usual text: one check is enough
        value, digits = Decimal(raw), plain_digits(raw)
    else:
        try:
            value = parse_decimal(raw, name)
        except MoneyError as exc:
            raise MalformedTick(str(exc)) from None
        digits = significant_digits(value)
    if value <= 0:
        raise MalformedTick(f"{name} must be positive, got {raw!r}")
    if value > MAX_UNITS:
        raise MalformedTick(f"{name} {raw} is above the largest supported value {MAX_UNITS}")
    if digits > PRICE_DIGITS:
        raise MalformedTick(f"{name} {raw} has more than {PRICE_DIGITS} significant digits")
    return value


def _quantity(fields: dict[str, str], name: str) -> Decimal | None:
    value = _number(fields, name)
    if value is not None and value < 0:
        raise MalformedTick(f"{name} must not be negative, got {fields[name]!r}")
    return value


def parse_tick(fields: dict[str, str], entry_id: str) -> Tick:
    """Validate one price-stream entry; raise :class:`MalformedTick` with the reason."""
    raw_symbol = fields.get("symbol")
    if not raw_symbol:
        raise MalformedTick("missing field 'symbol'")
    symbol = _symbols.get(raw_symbol)
    if symbol is None:
        try:
            symbol = normalize_symbol(raw_symbol)
        except BadSymbol as exc:
            raise MalformedTick(exc.message) from None
        if len(_symbols) >= _SYMBOLS_KEPT:
            _symbols.clear()
        _symbols[raw_symbol] = symbol
    if "price" not in fields:
        raise MalformedTick("missing field 'price'")
    price = _price(fields, "price")
    if price is None:
        raise MalformedTick("field 'price' is empty")
    bid = _price(fields, "bid") or price
    ask = _price(fields, "ask") or price
    if bid > ask:
        raise MalformedTick(f"bid {price_str(bid)} is above ask {price_str(ask)}")
    raw_ts = fields.get("ts")
    if raw_ts:
        if not raw_ts.isdigit() or len(raw_ts.lstrip("0")) > 13:  # the trade index holds 13-digit times
            raise MalformedTick(f"ts must be milliseconds since the epoch (at most 13 digits), got {raw_ts!r}")
        ts = int(raw_ts)
    else:
        ts = entry_ms(entry_id)
    return Tick(
        symbol=symbol,
        price=price,
        bid=bid,
        ask=ask,
        ts=ts,
        volume=_quantity(fields, "volume"),
        bid_qty=_quantity(fields, "bid_qty"),
        ask_qty=_quantity(fields, "ask_qty"),
    )
