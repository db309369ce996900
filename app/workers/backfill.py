"""History import: candles from a file stored as candles (``mockx feed FILE --backfill``), no ticks replayed.

Reads the candle formats the replay feed reads (CSV or JSON Lines of ``ts,symbol,open,high,low,close[,volume]``,
or ccxt's ``fetch_ohlcv`` arrays ``[ts,open,high,low,close,volume]``, as JSON Lines or one JSON array of
arrays, with ``--symbol``), all of one interval (``--candle-ms``: one minute, hour or day). The whole file is
checked before anything is stored; :meth:`app.engine.candles.Candles.backfill` stores it (``store_candles.lua``:
a candle already held is left alone, so importing twice changes nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from app.engine.errors import BadSymbol
from app.engine.markets import normalize_symbol
from app.workers import feeds

#: The intervals a file may hold, as the stored resolutions.
RESOLUTIONS = {60_000: "1m", 3_600_000: "1h", 86_400_000: "1d"}
Row = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]
_arrays = msgspec.json.Decoder(list[list[Any]], float_hook=Decimal)


def read_backfill(path: Path, *, symbol: str | None = None, candle_ms: int = 60_000) -> dict[str, list[Row]]:
    """The candles of a file by symbol, oldest first; raises :class:`feeds.FeedError` naming file and line."""
    if candle_ms not in RESOLUTIONS:
        raise feeds.FeedError(f"--backfill stores 1m, 1h or 1d candles: --candle-ms must be one of {list(RESOLUTIONS)}")
    default = None
    if symbol:
        try:
            default = normalize_symbol(symbol)
        except BadSymbol as exc:
            raise feeds.FeedError(exc.message) from None
    out: dict[str, dict[int, Row]] = {}
    for line, raw in _rows(path):
        try:
            sym, row = _candle(raw, default, candle_ms)
        except feeds.FeedError as exc:
            raise feeds.FeedError(f"{path}:{line}: {exc}") from None
        out.setdefault(sym, {})[row[0]] = row
    return {sym: [rows[ts] for ts in sorted(rows)] for sym, rows in out.items()}


def ccxt_rows(symbol: str, arrays: list[list[Any]], candle_ms: int) -> list[Row]:
    """ccxt ``fetch_ohlcv`` arrays (numbers as ccxt gives them: floats) checked as a file's rows are, oldest
    first, one per open time; raises :class:`feeds.FeedError` naming the candle."""
    rows: dict[int, Row] = {}
    for i, array in enumerate(arrays, start=1):
        try:
            _, row = _candle([_cell(item) for item in array], symbol, candle_ms)
        except feeds.FeedError as exc:
            raise feeds.FeedError(f"{symbol} candle {i} of the exchange: {exc}") from None
        rows[row[0]] = row
    return [rows[ts] for ts in sorted(rows)]


def _cell(item: object) -> str:
    """A number as plain decimal text (a float by its shortest repr, never an exponent); None as empty."""
    if item is None:
        return ""
    if isinstance(item, float):
        return format(Decimal(repr(item)), "f")
    return str(item)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str] | list[str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise feeds.FeedError(f"{path}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise feeds.FeedError(f"{path}: not UTF-8 text") from None
    if text.lstrip().startswith("[["):  # one JSON array of ccxt arrays
        try:
            rows: Any = _arrays.decode(text)
        except msgspec.DecodeError as exc:
            raise feeds.FeedError(f"{path}: not a JSON array of arrays: {exc}") from None
        for i, row in enumerate(rows, start=1):
            yield i, [feeds._text(item) for item in row]
        return
    with path.open(encoding="utf-8", newline="") as handle:
        try:
            yield from feeds._json_rows(handle) if feeds._is_json(path, handle) else feeds._csv_rows(handle)
        except feeds._LineError as exc:
            raise feeds.FeedError(f"{path}:{exc.line}: {exc.reason}") from None


def _candle(raw: dict[str, str] | list[str], default: str | None, candle_ms: int) -> tuple[str, Row]:
    row = feeds._positional(raw, "candles") if isinstance(raw, list) else raw
    if "ts" not in row:
        raise feeds.FeedError("missing the timestamp (ts)")
    ts = feeds.parse_timestamp(row["ts"])
    if ts % candle_ms:
        raise feeds.FeedError(f"candle time {ts} is not a multiple of the interval {candle_ms} ms")
    symbol = row.get("symbol") or default
    if not symbol:
        raise feeds.FeedError("no symbol: add a symbol column or give --symbol")
    try:
        symbol = normalize_symbol(symbol)
    except BadSymbol as exc:
        raise feeds.FeedError(exc.message) from None
    missing = [name for name in ("open", "high", "low", "close") if not row.get(name)]
    if missing:
        raise feeds.FeedError(f"a candle needs open, high, low and close; missing {', '.join(missing)}")
    o, h, lo, c = (feeds._price(row[name], name) for name in ("open", "high", "low", "close"))
    if lo > min(o, c) or h < max(o, c):
        raise feeds.FeedError(f"candle low {lo} / high {h} do not enclose open {o} and close {c}")
    volume = feeds._quantity(row["volume"]) if row.get("volume") else Decimal(0)
    return symbol, (ts, o, h, lo, c, volume)
