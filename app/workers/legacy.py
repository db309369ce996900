"""Prices written the older way, picked up and published into the price stream (one path for prices).

Existing price writers set hashes outside any namespace:

* ``tickers:<SYMBOL>`` with fields ``price`` (or ``last``), ``bid``, ``ask``, ``timestamp``, ``volume``,
  ``bidVolume``, ``askVolume``;
* ``sym_<SYMBOL>`` with field ``price`` (and often ``timestamp``).

``<SYMBOL>`` is any form :func:`app.engine.markets.normalize_symbol` accepts (``BTC/USDT``, ``BTCUSDT``...).
``timestamp`` may be seconds or milliseconds since the epoch. On every sweep, a key whose values changed
since the last pick-up is published as an ordinary tick; the fingerprint of what was published is kept in
``{ns}:prices:legacy``, so a restart does not publish an old price again. Sloppy float prices are rounded
to 8 decimals and 15 significant digits; a key that still breaks the contract is logged once and skipped.
"""

from __future__ import annotations

import logging
from typing import cast

from redis.asyncio import Redis

from app.engine.errors import BadSymbol
from app.engine.markets import normalize_symbol
from app.engine.money import price_str
from app.engine.ticks import MalformedTick, parse_tick
from app.settings import Settings
from app.store.keys import Keys
from app.workers.publish import Publisher, epoch_ms, round_price, round_quantity

log = logging.getLogger(__name__)

PATTERNS = (("tickers:*", "tickers:"), ("sym_*", "sym_"))
_FIELDS = ("price", "last", "bid", "ask", "timestamp", "volume", "bidVolume", "askVolume")
# Keys a SCAN call looks at: every sweep walks the whole keyspace twice (once per pattern), so a few large
# steps (each well under a millisecond of Valkey's time) rather than many round trips.
_SCAN_COUNT = 5000


def legacy_tick(key: str, prefix: str, raw: dict[str, str]) -> dict[str, str]:
    """The price-stream fields for one older price key; raises MalformedTick with the reason."""
    try:
        symbol = normalize_symbol(key[len(prefix) :])
    except BadSymbol as exc:
        raise MalformedTick(exc.message) from None
    fields = {"symbol": symbol}
    for source, target in (
        ("price", "price"), ("bid", "bid"), ("ask", "ask"), ("volume", "volume"), ("bidVolume", "bid_qty"),
        ("askVolume", "ask_qty"),
    ):  # fmt: skip
        value = raw.get(source) or (raw.get("last") if source == "price" else None)
        if value:
            fields[target] = _rounded(value, source, quantity=target not in ("price", "bid", "ask"))
    if "price" not in fields:
        raise MalformedTick("no 'price' field")
    stamp = raw.get("timestamp", "").strip()
    if stamp:
        fields["ts"] = str(_millis(stamp))
    parse_tick(fields, "0-0")
    return fields


async def publish_legacy_prices(redis: Redis, keys: Keys, settings: Settings) -> int:
    """Publish every older price key that changed since the last sweep; returns how many were published."""
    found: list[tuple[str, str]] = []
    for pattern, prefix in PATTERNS:
        async for key in redis.scan_iter(match=pattern, count=_SCAN_COUNT, _type="hash"):
            found.append((key, prefix))
    if not found:
        return 0
    seen = await redis.hgetall(keys.legacy_prices)
    async with redis.pipeline(transaction=False) as pipe:
        for key, _ in found:
            pipe.hmget(key, list(_FIELDS))
        values = await pipe.execute()
    ticks: list[dict[str, str]] = []
    marks: dict[str, str] = {}
    for (key, prefix), row in zip(found, values, strict=True):
        raw = {name: value for name, value in zip(_FIELDS, row, strict=True) if value is not None}
        mark = "|".join(f"{n}={v}" for n, v in sorted(raw.items()))
        if seen.get(key) == mark:
            continue
        marks[key] = mark
        try:
            ticks.append(legacy_tick(key, prefix, raw))
        except MalformedTick as exc:
            log.warning("older price key %s skipped: %s", key, exc)
    if ticks:
        await Publisher(redis, settings.price_stream, settings.price_stream_maxlen).publish(ticks)
    if marks:
        await redis.hset(keys.legacy_prices, mapping=cast("dict[str | bytes, str]", marks))
    return len(ticks)


def _rounded(value: str, name: str, *, quantity: bool) -> str:
    """A price rounded to the contract; a quantity may also be zero."""
    try:
        return price_str(round_quantity(value) if quantity else round_price(value))
    except ValueError:
        raise MalformedTick(f"{name} must be a positive number, got {value!r}") from None


def _millis(stamp: str) -> int:
    try:
        return epoch_ms(stamp)
    except ValueError as exc:
        raise MalformedTick(str(exc)) from None
