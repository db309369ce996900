"""Helpers of the order-book and tape tests: ticks with books, settle_batch runs, applying diffs."""

from __future__ import annotations

import time
from decimal import Decimal

from app.engine.exchange import Exchange
from app.engine.models import BookDiff, BookLevel
from app.engine.ticks import Tick, levels_json, parse_tick


def book_fields(bids: list[tuple[str, str]], asks: list[tuple[str, str]], **more: str) -> dict[str, str]:
    """Stream fields of a tick publishing this book (price: the best bid, or the best ask)."""
    fields = {"price": (bids or asks)[0][0], **more}
    if bids:
        fields["bids"] = levels_json(tuple((Decimal(p), Decimal(q)) for p, q in bids))
    if asks:
        fields["asks"] = levels_json(tuple((Decimal(p), Decimal(q)) for p, q in asks))
    return fields


class Ticks:
    """Entry ids after now, one ms apart, for ticks of one symbol."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.ms = time.time_ns() // 1_000_000 + 60_000

    def __call__(self, *fields: dict[str, str]) -> list[tuple[str, Tick]]:
        out = []
        for f in fields:
            self.ms += 1
            entry_id = f"{self.ms}-0"
            out.append((entry_id, parse_tick({"symbol": self.symbol, **f}, entry_id)))
        return out


async def settle_batch(ex: Exchange, run: list[tuple[str, Tick]]) -> None:
    """One settle_batch call of ``run`` (which must fill nothing)."""
    keys, args = ex.settle_batch_call_args(run[0][1].symbol, [(e, t.settle_values()) for e, t in run])
    step = await ex.scripts.settle_batch(keys, args)
    assert step.done
    assert step.applied == len(run)


def apply_diff(
    book: tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]], diff: BookDiff
) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
    """A local book (bids, asks) with one diff applied as a Binance client does (amount 0 removes a level)."""
    sides = []
    for levels, changes, desc in ((book[0], diff.bids, True), (book[1], diff.asks, False)):
        held = dict(levels)
        for price, amount in changes:
            if amount == 0:
                held.pop(price, None)
            else:
                held[price] = amount
        sides.append(tuple(sorted(held.items(), reverse=desc)))
    return sides[0], sides[1]
