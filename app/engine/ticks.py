"""Price ticks: the public price-stream contract and its validation.

A publisher appends to the price stream (default ``mockx:prices``)::

    XADD mockx:prices MAXLEN ~ 100000 * symbol BTC/USDT price 64000.5

Fields: ``symbol`` (``BASE/QUOTE``), ``price`` (decimal string); optional ``bid``, ``ask`` (default: the
price, or the best level of ``bids`` / ``asks``), ``ts`` (ms since the epoch; default: the entry id's time),
``volume`` (24 h base volume), ``bid_qty``, ``ask_qty`` (sizes at the best bid / ask), ``qty`` (the
quantity traded at ``price`` by this tick: a trade print; absent, the tick is a quote only), ``bids``,
``asks`` (the book: JSON arrays of ``[price, qty]`` pairs, best first; the first ``BOOK_LEVELS`` are kept).
An entry that breaks the contract raises :class:`MalformedTick` with the reason.
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

KNOWN_FIELDS = frozenset({"symbol", "price", "bid", "ask", "ts", "volume", "bid_qty", "ask_qty", "qty", "bids", "asks"})
#: Book levels a tick may carry on each side before the rest is dropped (the ``BOOK_LEVELS`` default).
BOOK_LEVELS = 20
_BOOK_TEXT_MAX = 64 * 1024  # a book field longer than this is refused before it is parsed

Level = tuple[Decimal, Decimal]
_levels = msgspec.json.Decoder(list[tuple[msgspec.Raw, msgspec.Raw]])

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
    qty: Decimal | None = None
    bids: tuple[Level, ...] | None = None
    asks: tuple[Level, ...] | None = None

    def fields(self) -> dict[str, str]:
        """The stream fields of this tick, as a publisher writes them."""
        out = {"symbol": self.symbol, "price": price_str(self.price), "ts": str(self.ts)}
        if self.bid != self.price:
            out["bid"] = price_str(self.bid)
        if self.ask != self.price:
            out["ask"] = price_str(self.ask)
        for name in ("volume", "bid_qty", "ask_qty", "qty"):
            value = getattr(self, name)
            if value is not None:
                out[name] = price_str(value)
        for name in ("bids", "asks"):
            levels = getattr(self, name)
            if levels is not None:
                out[name] = levels_json(levels)
        return out

    def settle_values(self) -> list[str]:
        """Price, bid, ask, ts, volume, bid qty, ask qty, qty, bids and asks as the settle scripts take them
        ("" if missing; the book sides as JSON arrays of ``["price", "qty"]`` string pairs)."""
        price = price_str(self.price)
        return [
            price,
            price if self.bid is self.price else price_str(self.bid),
            price if self.ask is self.price else price_str(self.ask),
            str(self.ts),
            "" if self.volume is None else price_str(self.volume),
            "" if self.bid_qty is None else price_str(self.bid_qty),
            "" if self.ask_qty is None else price_str(self.ask_qty),
            "" if self.qty is None else price_str(self.qty),
            "" if self.bids is None else levels_json(self.bids),
            "" if self.asks is None else levels_json(self.asks),
        ]


#: How many values :meth:`Tick.settle_values` gives (the settle scripts' stride is one more: the entry id).
SETTLE_VALUES = 10


def levels_json(levels: tuple[Level, ...]) -> str:
    """Book levels as the stream and the scripts carry them: ``[["64000.5","1.2"],...]``, exact strings."""
    return "[" + ",".join(f'["{price_str(p)}","{price_str(q)}"]' for p, q in levels) + "]"


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


def _levels_of(fields: dict[str, str], name: str, keep: int) -> tuple[Level, ...] | None:
    """One side of the book: ``[[price, qty], ...]``, best first (bids falling, asks rising), prices valid
    as ``price`` is, quantities not negative; the first ``keep`` levels are kept."""
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > _BOOK_TEXT_MAX:
        raise MalformedTick(f"{name} is longer than {_BOOK_TEXT_MAX} characters")
    try:
        levels = _levels.decode(raw)
    except msgspec.DecodeError:
        raise MalformedTick(f"{name} must be a JSON array of [price, qty] pairs, got {raw[:80]!r}") from None
    kept: list[Level] = []
    for i, (raw_price, raw_qty) in enumerate(levels[:keep]):
        where = f"{name}[{i}]"
        price = _price({f"{where} price": _text(raw_price)}, f"{where} price")
        qty = _quantity({f"{where} qty": _text(raw_qty)}, f"{where} qty")
        if price is None or qty is None:
            raise MalformedTick(f"{where} must be [price, qty], got {raw[:80]!r}")
        if kept and (price >= kept[-1][0] if name == "bids" else price <= kept[-1][0]):
            order = "falling" if name == "bids" else "rising"
            raise MalformedTick(f"{name} must be best first (prices {order}): {where} is out of order")
        kept.append((price, qty))
    return tuple(kept)


def _text(raw: msgspec.Raw) -> str:
    """A JSON number's text, or a JSON string's value (a price may come as either)."""
    text = bytes(raw).decode()
    return msgspec.json.decode(raw, type=str) if text.startswith('"') else text


def _top(book: tuple[Level, ...] | None, given: Decimal | None, name: str) -> Decimal | None:
    """The best price of a book side, which a ``bid`` / ``ask`` given as well must equal."""
    if not book:
        return given
    if given is not None and given != book[0][0]:
        raise MalformedTick(f"{name} {price_str(given)} is not the best level of the {name}s, {price_str(book[0][0])}")
    return book[0][0]


def parse_tick(fields: dict[str, str], entry_id: str, *, book_levels: int = BOOK_LEVELS) -> Tick:
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
    bids, asks = _levels_of(fields, "bids", book_levels), _levels_of(fields, "asks", book_levels)
    bid = _top(bids, _price(fields, "bid"), "bid") or price
    ask = _top(asks, _price(fields, "ask"), "ask") or price
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
        bid_qty=_quantity(fields, "bid_qty") if not bids else bids[0][1],
        ask_qty=_quantity(fields, "ask_qty") if not asks else asks[0][1],
        qty=_quantity(fields, "qty"),
        bids=bids,
        asks=asks,
    )
