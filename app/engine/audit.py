"""The money invariants, checked against what Valkey holds, to the last minor unit.

Per account (an account's state shares the shard with other accounts'; each is checked on its own):

1. No balance is negative.
2. For every asset, ``used`` equals exactly what the open orders reserve in it.
3. Value is conserved: for every asset, ``free + used`` equals deposits - withdrawals + what fills
   brought in - what fills took out (fees included), as the fill statistics count them (they are kept
   when retention trims the trades); the trades still held never outnumber the fills counted.
4. Indexes hold only open orders: every id in a book, a trigger index or the open index is an open order,
   and every open order is in the open index and in its book (or, a stop order not yet triggered, in its
   trigger index).

Used by the tests after every step of random sequences, and available to operators as a health check.
"""

from __future__ import annotations

from collections import defaultdict

from redis.asyncio import Redis

from app.store.keys import Keys
from app.store.records import order_decoder, trade_decoder


async def audit(redis: Redis, keys: Keys) -> list[str]:
    """Every violated invariant of every account of the shard, as a sentence; an empty list means the
    books balance. Each account is checked on its own: money never moves between accounts."""
    symbols = await redis.hkeys(keys.markets)  # market data: under shard 0's tag, outside the transaction
    async with redis.pipeline(transaction=True) as pipe:  # the shard's state, read at one instant
        pipe.hgetall(keys.balances)
        pipe.hgetall(keys.ledger)
        pipe.hgetall(keys.orders)
        pipe.hvals(keys.trades)
        pipe.zrange(keys.open, 0, -1)
        pipe.hgetall(keys.stats)
        balances, ledger, orders, trades, open_members, stats = await pipe.execute()
    async with redis.pipeline(transaction=True) as pipe:
        for symbol in symbols:
            pipe.zrange(keys.book(symbol, "buy"), 0, -1)
            pipe.zrange(keys.book(symbol, "sell"), 0, -1)
            pipe.zrange(keys.triggers(symbol, "up"), 0, -1)  # stop orders waiting for their trigger
            pipe.zrange(keys.triggers(symbol, "down"), 0, -1)
        books = await pipe.execute()

    problems: list[str] = []
    free: dict[tuple[str, str], int] = defaultdict(int)
    used: dict[tuple[str, str], int] = defaultdict(int)
    for field, value in balances.items():
        acct, asset, kind = field.split(":")
        (free if kind == "free" else used)[acct, asset] = int(value)
        if int(value) < 0:
            problems.append(f"{acct}: {asset} {kind} is negative: {value}")

    reserved: dict[tuple[str, str], int] = defaultdict(int)
    open_orders = set()
    for oid, raw in orders.items():
        o = order_decoder.decode(raw)
        if o.st == "open":
            open_orders.add(oid)
            if o.shr != "1":  # an OCO leg covered by its sibling's reservation reserves nothing itself
                reserved[o.acct, o.ra] += int(o.res)
        elif int(o.res) != 0:
            problems.append(f"{o.acct}: order {oid} is {o.st} but still reserves {o.res} {o.ra}")
    for key in set(used) | set(reserved):
        if used[key] != reserved[key]:
            problems.append(f"{key[0]}: {key[1]} used is {used[key]} but open orders reserve {reserved[key]}")

    expected: dict[tuple[str, str], int] = defaultdict(int)
    for field, value in ledger.items():
        acct, asset, kind = field.split(":")
        expected[acct, asset] += int(value) if kind == "deposited" else -int(value)
    held: dict[tuple[str, str, str], int] = defaultdict(int)
    for raw in trades:
        t = trade_decoder.decode(raw)
        held[t.acct, t.sym, t.side] += 1
    counted = _trade_flows(stats, expected)
    for (acct, symbol, side), n in held.items():
        if n > counted[acct, symbol, side]:
            problems.append(f"{acct}: {n} {symbol} {side} trades held but {counted[acct, symbol, side]} fills counted")
    for key in set(expected) | set(free) | set(used):
        total = free[key] + used[key]
        if total != expected[key]:
            problems.append(
                f"{key[0]}: {key[1]} total {total} differs from deposits - withdrawals + trade flows {expected[key]}"
            )

    indexed = {str(int(m.split("|", 1)[1])) for m in open_members}
    if indexed != open_orders:
        problems.append(f"open index {sorted(indexed ^ open_orders)} disagrees with the open orders")
    in_books: set[str] = set()
    for ids in books:
        in_books.update(ids)
    if in_books != open_orders:
        problems.append(f"books hold {sorted(in_books ^ open_orders)} that are not exactly the open orders")
    return problems


def _trade_flows(stats: dict[str, str], expected: dict[tuple[str, str], int]) -> dict[tuple[str, str, str], int]:
    """Adds what the fill statistics say fills moved to ``expected``; returns the fills counted per side."""
    counted: dict[tuple[str, str, str], int] = defaultdict(int)
    for field, value in stats.items():
        acct, symbol, side, kind = field.split(":")
        base, quote = symbol.split("/")
        sign = 1 if side == "buy" else -1
        if kind == "base":
            expected[acct, base] += sign * int(value)
        elif kind == "quote":
            expected[acct, quote] -= sign * int(value)
        elif kind == "fee":
            expected[acct, quote] -= int(value)
        elif kind == "basefee":  # FEE_ASSET=received: a buy's fee, paid in the base asset
            expected[acct, base] -= int(value)
        elif kind == "count":
            counted[acct, symbol, side] = int(value)
    return counted
