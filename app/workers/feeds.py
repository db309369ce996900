"""Price publishers: synthetic prices, replays of recorded data, and a real exchange through ccxt.

Each source produces ticks as price-stream fields (see :mod:`app.engine.ticks`);
:class:`app.workers.publish.Publisher` writes them. Prices are rounded to the contract (8 decimals,
15 significant digits) before publishing.

* :func:`synthetic_rounds`: geometric Brownian motion per symbol with a bid/ask spread. The same seed and
  parameters give the same ticks.
* :func:`read_replay`: CSV or JSON Lines of ticks (``ts,symbol,price[,bid,ask,volume]``) or OHLCV candles
  (``ts,symbol,open,high,low,close[,volume]``, or ccxt's ``[ts,open,high,low,close,volume]`` with a given
  symbol). Each candle becomes four ticks inside its interval: open, then low and high (high first for a
  falling candle), then close.
* :func:`ccxt_feed`: polls (or watches) a ccxt exchange's tickers; needs the ``mockx[live]`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import msgspec

from app.engine.errors import BadSymbol
from app.engine.markets import normalize_symbol
from app.engine.money import price_str
from app.engine.ticks import MalformedTick, parse_tick
from app.workers.publish import Publisher, epoch_ms, round_price, round_quantity, spread

log = logging.getLogger(__name__)

SECONDS_PER_YEAR = 365 * 24 * 3600
DEFAULT_START = Decimal(100)
BATCH = 500

Fields = dict[str, str]


class FeedError(ValueError):
    """Input a feed cannot use; the message says what and where."""


def tick_fields(
    symbol: str,
    price: Decimal,
    bid: Decimal | None = None,
    ask: Decimal | None = None,
    *,
    ts: int | None = None,
    volume: Decimal | None = None,
) -> Fields:
    """Price-stream fields for one tick, numbers in their canonical form."""
    fields = {"symbol": symbol, "price": price_str(price)}
    if bid is not None:
        fields["bid"] = price_str(bid)
    if ask is not None:
        fields["ask"] = price_str(ask)
    if ts is not None:
        fields["ts"] = str(ts)
    if volume is not None:
        fields["volume"] = price_str(volume)
    return fields


def parse_symbols(raw: Iterable[str]) -> list[str]:
    """``BTC/USDT,ethusdt`` (comma separated, repeatable) -> ``["BTC/USDT", "ETH/USDT"]``, no duplicates."""
    out: list[str] = []
    for chunk in raw:
        for part in chunk.split(","):
            if not part.strip():
                continue
            try:
                symbol = normalize_symbol(part)
            except BadSymbol as exc:
                raise FeedError(exc.message) from None
            if symbol not in out:
                out.append(symbol)
    if not out:
        raise FeedError("give at least one symbol, like BTC/USDT")
    return out


# synthetic -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Synthetic:
    """Geometric Brownian motion: ``volatility`` and ``drift`` are annual; one step lasts ``1 / rate`` s."""

    symbols: list[str]
    seed: int = 0
    rate: float = 1.0
    start: Mapping[str, Decimal] = field(default_factory=dict)
    volatility: float = 0.6
    drift: float = 0.0
    spread_bps: Decimal = Decimal(2)

    def check(self) -> None:
        if not self.symbols:
            raise FeedError("give at least one symbol")
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise FeedError(f"rate must be a positive number of ticks per second, got {self.rate}")
        if not (self.volatility >= 0 and math.isfinite(self.volatility)):
            raise FeedError(f"volatility must be zero or positive, got {self.volatility}")
        if not math.isfinite(self.drift):
            raise FeedError(f"drift must be a finite number, got {self.drift}")
        if not Decimal(0) <= self.spread_bps < Decimal(20_000):
            raise FeedError(f"spread must be at least 0 and below 20000 bps, got {self.spread_bps}")
        for symbol, price in self.start.items():
            if symbol not in self.symbols:
                raise FeedError(f"start price given for {symbol}, which is not among the symbols")
            if price <= 0:
                raise FeedError(f"start price of {symbol} must be positive, got {price}")


def synthetic_rounds(spec: Synthetic) -> Iterator[list[Fields]]:
    """Endless rounds of one tick per symbol (in the order given); deterministic for a given spec."""
    spec.check()
    rng = random.Random(spec.seed)
    dt = 1.0 / (spec.rate * SECONDS_PER_YEAR)
    step_drift = (spec.drift - spec.volatility**2 / 2) * dt
    step_vol = spec.volatility * math.sqrt(dt)
    state = {s: float(spec.start.get(s, DEFAULT_START)) for s in spec.symbols}
    while True:
        ticks = []
        for symbol in spec.symbols:
            value = state[symbol] * math.exp(step_drift + step_vol * rng.gauss(0.0, 1.0))
            state[symbol] = value = min(max(value, 1e-8), 1e10)
            price = round_price(value)
            bid, ask = spread(price, spec.spread_bps)
            ticks.append(tick_fields(symbol, price, bid, ask))
        yield ticks


# replay ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReplayTick:
    line: int
    ts: int
    fields: Fields


ReplayKind = Literal["auto", "ticks", "candles"]

_ALIASES = {
    "ts": "ts", "timestamp": "ts", "time": "ts", "date": "ts", "datetime": "ts",
    "symbol": "symbol", "pair": "symbol", "market": "symbol",
    "price": "price", "last": "price",
    "bid": "bid", "ask": "ask",
    "volume": "volume", "vol": "volume", "basevolume": "volume",
    "open": "open", "o": "open", "high": "high", "h": "high", "low": "low", "l": "low",
    "close": "close", "c": "close",
}  # fmt: skip
_TICK_COLUMNS = ("ts", "symbol", "price", "bid", "ask", "volume")
_CANDLE_COLUMNS = ("ts", "symbol", "open", "high", "low", "close", "volume")
_CCXT_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
_json_row = msgspec.json.Decoder(float_hook=Decimal)


def read_replay(
    path: Path, *, kind: ReplayKind = "auto", symbol: str | None = None, candle_ms: int = 60_000
) -> Iterator[ReplayTick]:
    """The ticks of a replay file in file order, validated; raises :class:`FeedError` naming file and line."""
    if candle_ms < 4:
        raise FeedError(f"candle interval must be at least 4 ms, got {candle_ms}")
    default_symbol = None
    if symbol:
        try:
            default_symbol = normalize_symbol(symbol)
        except BadSymbol as exc:
            raise FeedError(exc.message) from None
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise FeedError(f"{path}: cannot be read: {exc.strerror}") from None
    with handle:
        try:
            rows = _json_rows(handle) if _is_json(path, handle) else _csv_rows(handle)
            for line, row in rows:
                try:
                    yield from _row_ticks(line, row, kind, default_symbol, candle_ms)
                except (FeedError, MalformedTick) as exc:
                    raise _LineError(line, str(exc)) from None
        except _LineError as exc:
            raise FeedError(f"{path}:{exc.line}: {exc.reason}") from None
        except UnicodeDecodeError:
            raise FeedError(f"{path}: not UTF-8 text") from None


class _LineError(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _is_json(path: Path, handle: Any) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix in (".csv", ".txt", ".tsv"):
        return False
    head = handle.read(64)
    handle.seek(0)
    return head.lstrip()[:1] in ("{", "[")


def _csv_rows(handle: Any) -> Iterator[tuple[int, dict[str, str] | list[str]]]:
    reader = csv.reader(handle)
    header: list[str] | None = None
    first = True
    for cells in reader:
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if first:
            first = False
            names = [_ALIASES.get(c.lower()) for c in cells]
            if "ts" in names or "symbol" in names or "price" in names or "close" in names:
                if len(set(filter(None, names))) != len([n for n in names if n]):
                    raise _LineError(reader.line_num, "a column appears twice in the header")
                header = [n or "" for n in names]
                continue
        if header is not None:
            if len(cells) != len(header):
                raise _LineError(reader.line_num, f"{len(cells)} columns, the header has {len(header)}")
            yield reader.line_num, {name: cell for name, cell in zip(header, cells, strict=True) if name}
        else:
            yield reader.line_num, cells


def _json_rows(handle: Any) -> Iterator[tuple[int, dict[str, str] | list[str]]]:
    for line, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            value = _json_row.decode(text)
        except msgspec.DecodeError as exc:
            raise _LineError(line, f"not JSON: {exc}") from None
        if isinstance(value, dict):
            row: dict[str, str] = {}
            for key, item in value.items():
                name = _ALIASES.get(str(key).lower())
                if name and item is not None:
                    row[name] = _text(item)
            yield line, row
        elif isinstance(value, list):
            yield line, [_text(item) for item in value]
        else:
            raise _LineError(line, "expected a JSON object or array")


def _text(item: object) -> str:
    return item if isinstance(item, str) else str(item)


def _positional(cells: list[str], kind: ReplayKind) -> dict[str, str]:
    """A header-less row: ticks ``ts,symbol,price[,bid,ask,volume]``, candles ``ts,symbol,o,h,l,c[,v]``,
    or ccxt's OHLCV ``ts,o,h,l,c,v`` (the symbol comes from the command line)."""
    second_is_number = len(cells) > 1 and _is_number(cells[1])
    if kind == "candles" or (kind == "auto" and len(cells) == 7):
        columns = _CCXT_COLUMNS if second_is_number else _CANDLE_COLUMNS
    elif kind == "auto" and len(cells) == 6 and second_is_number:
        columns = _CCXT_COLUMNS
    else:
        columns = _TICK_COLUMNS
    if len(cells) > len(columns):
        raise FeedError(f"{len(cells)} columns; expected at most {len(columns)}: {','.join(columns)}")
    return {name: cell for name, cell in zip(columns, cells, strict=False) if cell != ""}


def _row_ticks(
    line: int, raw: dict[str, str] | list[str], kind: ReplayKind, default_symbol: str | None, candle_ms: int
) -> Iterator[ReplayTick]:
    row = _positional(raw, kind) if isinstance(raw, list) else raw
    if "ts" not in row:
        raise FeedError("missing the timestamp (ts)")
    ts = parse_timestamp(row["ts"])
    symbol = row.get("symbol") or default_symbol
    if not symbol:
        raise FeedError("no symbol: add a symbol column or give --symbol")
    try:
        symbol = normalize_symbol(symbol)
    except BadSymbol as exc:
        raise FeedError(exc.message) from None
    is_candle = kind == "candles" or (kind == "auto" and "close" in row and "price" not in row)
    if not is_candle:
        if "price" not in row:
            raise FeedError("missing the price")
        price = _price(row["price"], "price")
        bid = _price(row["bid"], "bid") if row.get("bid") else None
        ask = _price(row["ask"], "ask") if row.get("ask") else None
        volume = _quantity(row["volume"]) if row.get("volume") else None
        fields = tick_fields(symbol, price, bid, ask, ts=ts, volume=volume)
        parse_tick(fields, "0-0")
        yield ReplayTick(line, ts, fields)
        return
    missing = [name for name in ("open", "high", "low", "close") if not row.get(name)]
    if missing:
        raise FeedError(f"a candle needs open, high, low and close; missing {', '.join(missing)}")
    o, h, lo, c = (_price(row[name], name) for name in ("open", "high", "low", "close"))
    if lo > min(o, c) or h < max(o, c):
        raise FeedError(f"candle low {lo} / high {h} do not enclose open {o} and close {c}")
    path = (o, lo, h, c) if c >= o else (o, h, lo, c)
    offsets = (0, candle_ms // 3, 2 * candle_ms // 3, candle_ms - 1)
    for price, offset in zip(path, offsets, strict=True):
        yield ReplayTick(line, ts + offset, tick_fields(symbol, price, ts=ts + offset))


def parse_timestamp(raw: str) -> int:
    """Milliseconds since the epoch from ms, seconds (with decimals) or an ISO 8601 date-time."""
    try:
        return epoch_ms(raw)
    except ValueError as exc:
        raise FeedError(str(exc)) from None


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _price(raw: str, name: str) -> Decimal:
    try:
        return round_price(raw)
    except ValueError:
        raise FeedError(f"{name} must be a positive number, got {raw!r}") from None


def _quantity(raw: str) -> Decimal:
    try:
        return round_quantity(raw)
    except ValueError:
        raise FeedError(f"volume must be zero or a positive number, got {raw!r}") from None


# publishing loops ------------------------------------------------------------------------------------------
async def publish_paced(publisher: Publisher, items: Iterable[tuple[float, Fields]], *, batch: int = BATCH) -> int:
    """Publish each tick when its offset (seconds from the start) comes due; ticks due together share one
    pipeline. Returns how many were published."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    held: list[Fields] = []
    before = publisher.published
    for offset, fields in items:
        if publisher.stop.is_set():
            break
        delay = start + offset - loop.time()
        if delay > 0:
            await publisher.publish(held)
            held = []
            if await sleep_or_stop(delay, publisher.stop):
                break
        held.append(fields)
        if len(held) >= batch:
            await publisher.publish(held)
            held = []
    await publisher.publish(held)
    return publisher.published - before


async def publish_max(
    publisher: Publisher,
    items: Iterable[Fields],
    *,
    batch: int = BATCH,
    max_backlog: int = 5 * BATCH,
) -> int:
    """Publish as fast as the settlement workers absorb: before each batch, wait until the consumer group's
    backlog (undelivered + unacknowledged) leaves room for it. Returns how many were published."""
    before = publisher.published
    room = max(0, max_backlog - batch)
    held: list[Fields] = []
    for fields in items:
        held.append(fields)
        if len(held) >= batch:
            if not await publisher.wait_for_room(room):
                return publisher.published - before
            await publisher.publish(held)
            held = []
    if held and await publisher.wait_for_room(room):
        await publisher.publish(held)
    return publisher.published - before


def replay_items(ticks: Iterable[ReplayTick], speed: float) -> Iterator[tuple[float, Fields]]:
    """Offsets in wall-clock seconds for a replay at ``speed`` times the recorded pace."""
    first: int | None = None
    for tick in ticks:
        if first is None:
            first = tick.ts
        yield max(0, tick.ts - first) / 1000 / speed, tick.fields


def synthetic_items(spec: Synthetic, rounds: int | None) -> Iterator[tuple[float, Fields]]:
    """Round ``i`` of the synthetic feed is due ``i / rate`` seconds after the start."""
    for i, ticks in enumerate(synthetic_rounds(spec)):
        if rounds is not None and i >= rounds:
            return
        for fields in ticks:
            yield i / spec.rate, fields


# ccxt --------------------------------------------------------------------------------------------------
async def sleep_or_stop(seconds: float, stop: asyncio.Event) -> bool:
    """Sleep unless ``stop`` is set first; True when stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
