"""The 24 h ticker statistics as the keyspace defines them, computed here from the hourly buckets.

The settle scripts keep ``open``, ``high``, ``low`` and ``openHour`` in the ticker hash; these helpers say
what they must be (the buckets of the 24 hours ending with the hour of the ticker's ``ts``), independently
of the code that keeps them.
"""

from __future__ import annotations

from decimal import Decimal

from app.engine.exchange import Exchange

HOUR = 3_600_000

Stats = tuple[Decimal | None, Decimal | None, Decimal | None, int | None]  # open, high, low, open's hour


def window_of(ticker: dict[str, str], ohlc: dict[str, str]) -> Stats:
    """The statistics the buckets ``ohlc`` give the ticker hash ``ticker``."""
    top = int(ticker["ts"]) // HOUR
    hours = sorted({int(f.split(":")[0]) for f in ohlc} & set(range(top - 23, top + 1)))
    if not hours:
        return None, None, None, None
    return (
        Decimal(ohlc[f"{hours[0]}:o"]),
        max(Decimal(ohlc[f"{h}:h"]) for h in hours),
        min(Decimal(ohlc[f"{h}:l"]) for h in hours),
        hours[0],
    )


def stored_window(ticker: dict[str, str]) -> Stats:
    """The statistics the ticker hash holds (``""``: no bucket in the window)."""
    fields = [ticker[f] for f in ("open", "high", "low", "openHour")]
    if fields == ["", "", "", ""]:
        return None, None, None, None
    return Decimal(fields[0]), Decimal(fields[1]), Decimal(fields[2]), int(fields[3])


async def check_window(ex: Exchange, symbol: str) -> Stats:
    """Assert that the ticker of ``symbol`` holds what its buckets say; returns it."""
    ticker = await ex.redis.hgetall(ex.keys.ticker(symbol))
    expected = window_of(ticker, await ex.redis.hgetall(ex.keys.ohlc(symbol)))
    assert stored_window(ticker) == expected, (ticker, expected)
    return expected
