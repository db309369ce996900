"""``mockx feed --backfill``: candle history stored as candles, from a file or from a ccxt exchange."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import rich_click as click

from cli.prices import fail, run, valkey_url

if TYPE_CHECKING:
    from app.settings import Settings


def backfill_file(
    settings: Settings, *, source: str, file: Path | None, symbol: str | None, candle_ms: int, **_: Any
) -> None:
    """``mockx feed FILE --backfill``: the file's candles, checked whole, then stored."""
    if file is None or source != "replay":
        fail("--backfill imports the candles of a FILE (mockx feed FILE --backfill) or of ccxt (--source ccxt)")

    from app.workers import backfill, feeds

    try:
        candles = backfill.read_backfill(file, symbol=symbol, candle_ms=candle_ms)
    except feeds.FeedError as exc:
        fail(str(exc))
    _store_candles(settings, candles, candle_ms)


def backfill_ccxt(
    settings: Settings,
    *,
    exchange: str,
    url: str | None,
    symbols: tuple[str, ...],
    count: str,
    candle_ms: int,
    **_: Any,
) -> None:
    """``mockx feed --source ccxt --backfill N``: the last N closed candles of each symbol, then stored."""
    from app.workers import backfill, feeds, live

    if not count.isdigit() or int(count) < 1:
        fail(f"--source ccxt --backfill needs how many candles, a count of at least 1 (got {count!r}): --backfill 1000")
    if candle_ms not in backfill.RESOLUTIONS:
        fail(f"--backfill stores 1m, 1h or 1d candles: --candle-ms must be one of {list(backfill.RESOLUTIONS)}")
    try:
        chosen = feeds.parse_symbols(symbols or ("BTC/USDT",))
        client = live.open_ccxt(exchange, url=url)
    except feeds.FeedError as exc:
        fail(str(exc))

    async def fetch() -> dict[str, list[backfill.Row]]:
        import time

        now = int(time.time() * 1000)
        try:
            arrays = {s: await live.ccxt_candles(client, s, candle_ms, int(count), now_ms=now) for s in chosen}
        finally:
            await client.close()
        return {s: backfill.ccxt_rows(s, rows, candle_ms) for s, rows in arrays.items()}

    try:
        candles = run(fetch)
    except feeds.FeedError as exc:
        fail(str(exc))
    except Exception as exc:  # ccxt's own errors (network, exchange): said, not a traceback
        fail(f"{exchange}: fetching candles failed: {type(exc).__name__}: {exc}")
    _store_candles(settings, candles, candle_ms)


def _store_candles(settings: Settings, candles: dict[str, list[Any]], candle_ms: int) -> None:
    import msgspec

    from app.workers import backfill

    url = valkey_url(settings)
    if url is None:
        fail(
            f"no Valkey to store candles in: none is running for the data directory {settings.data_dir}; set REDIS_URL"
        )
    resolution = backfill.RESOLUTIONS[candle_ms]

    async def store() -> int:
        from app.engine.exchange import Exchange

        async with await Exchange.open(msgspec.structs.replace(settings, redis_url=url)) as ex:
            return sum([await ex.backfill_candles(sym, resolution, rows) for sym, rows in candles.items()])

    stored = run(store)
    total = sum(len(rows) for rows in candles.values())
    click.echo(msgspec.json.encode({"symbols": len(candles), "candles": total, "stored": stored}).decode())
