"""Publishing ticks: the one way prices enter MockX (``XADD <stream> MAXLEN ~ <n> * symbol ... price ...``).

Every publisher (the feeds, the older price keys, anyone's own script) ends up here or does the same XADD.
:class:`Publisher` validates each tick against the contract before anything is written, pipelines the
XADDs, and can hold back while the settlement workers are behind (back-pressure on the group's backlog).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from app.engine.money import CTX, PRICE_DIGITS, QUANTUM, SCALE, tidy
from app.engine.ticks import parse_tick
from app.store.retry import retrying

SECONDS_BELOW = 100_000_000_000  # a numeric timestamp below this is in seconds (in ms it would be 1973)


def _number(value: float | Decimal | str) -> Decimal:
    """Floats go through their shortest repr, so ``0.1`` is 0.1."""
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def round_price(value: float | Decimal | str, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """A publishable price: at most 8 decimals and 15 significant digits, never below 0.00000001.

    Raises ValueError for anything that is not a finite positive number.
    """
    number = _number(value)
    if number <= 0:
        raise ValueError(f"a price must be a finite positive number, got {value!r}")
    exponent = max(-SCALE, number.adjusted() - PRICE_DIGITS + 1)
    number = number.quantize(Decimal(1).scaleb(exponent), rounding=rounding, context=CTX)
    return tidy(max(number, QUANTUM))


def round_quantity(value: float | Decimal | str) -> Decimal:
    """A quantity (volume, bid/ask size): zero, or a positive number rounded like a price; else ValueError."""
    if _number(value) == 0:
        return Decimal(0)
    return round_price(value)


def epoch_ms(raw: str) -> int:
    """Milliseconds since the epoch from ms, seconds (decimals allowed) or an ISO 8601 date-time."""
    text = raw.strip()
    try:
        number = _number(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"timestamp {raw!r} is neither ms, seconds nor an ISO 8601 date-time") from None
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)
    if number < 0:
        raise ValueError(f"timestamp {raw!r} is negative")
    return int(number * 1000) if number < SECONDS_BELOW else int(number)


def spread(price: Decimal, bps: Decimal) -> tuple[Decimal, Decimal]:
    """Bid and ask around ``price`` for a total spread of ``bps`` basis points (bid rounded down, ask up)."""
    half = CTX.multiply(price, bps) / Decimal(20_000)
    bid = round_price(CTX.subtract(price, half), ROUND_FLOOR) if half < price else QUANTUM
    ask = round_price(CTX.add(price, half), ROUND_CEILING)
    return min(bid, price), max(ask, price)


class Publisher:
    """XADD ticks to the price stream, capped with ``MAXLEN ~``; optionally wait for the workers."""

    def __init__(
        self,
        redis: Redis,
        stream: str,
        maxlen: int,
        group: str = "settlement",
        *,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.maxlen = maxlen
        self.group = group
        self.stop = stop or asyncio.Event()
        self.published = 0
        self.last_id = ""

    async def publish(self, ticks: Sequence[Mapping[str, str]]) -> list[str]:
        """Validate every tick, then append them all in one pipeline; returns the entry ids.

        A tick that breaks the contract raises :class:`MalformedTick` and nothing is published.
        """
        for fields in ticks:
            parse_tick(dict(fields), "0-0")
        if not ticks:
            return []
        ids = await retrying(lambda: self._xadd(ticks), what="publisher", stop=self.stop)
        if not ids:  # stopped while Valkey was away
            return []
        self.published += len(ids)
        self.last_id = ids[-1]
        return ids

    async def _xadd(self, ticks: Sequence[Mapping[str, str]]) -> list[str]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for fields in ticks:
                pipe.xadd(self.stream, dict(fields), maxlen=self.maxlen, approximate=True)
            ids: list[str] = await pipe.execute()
        return ids

    async def backlog(self) -> int | None:
        """Entries the group has not finished: not yet delivered (lag) plus delivered but unacknowledged.

        None when the stream or the group does not exist yet.
        """
        try:
            groups = await self.redis.xinfo_groups(self.stream)
        except ResponseError:
            return None
        for g in groups:
            if g["name"] != self.group:
                continue
            lag = g.get("lag")
            if lag is None:  # not computable after deletions: count what is after the last delivered id
                lag = len(await self.redis.xrange(self.stream, f"({g['last-delivered-id']}", "+", count=100_000))
            return int(lag) + int(g["pending"])
        return None

    async def wait_for_room(self, limit: int, *, poll: float = 0.005) -> bool:
        """Wait until the group's backlog is at most ``limit``; False if ``stop`` was set meanwhile."""
        delay = poll
        while not self.stop.is_set():
            backlog = await retrying(self.backlog, what="publisher", stop=self.stop)
            if backlog is not None and backlog <= limit:
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            delay = min(0.1, delay * 1.5) if backlog is None else poll
        return False
