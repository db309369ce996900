"""Hostile input for the native API: the classes a newcomer or a fuzzer throws, and a state to compare.

Every value here must be refused with a 4xx in the native error shape, and must change nothing.
"""

from __future__ import annotations

from typing import Any

from app.engine.exchange import Exchange
from tests.support.money import snapshot

#: Numbers that are not ASCII decimal notation (Unicode and full-width digits, separators, signs, specials).
BAD_NUMBERS = ["١٢", "１２", "1_000", "+5", "5.", ".5", " 5", "5\n", "NaN", "Infinity", "0x10", "1,5", ""]
#: Ids and words with whitespace or control characters: never the same as the id without them.
BAD_IDS = ["abc\n", " abc", "abc\t", "a\x00b", "abc\r\n", "x" * 65]
#: Event cursors that name no event of the stream (the future one is added by the test).
BAD_CURSORS = ["١٢٣", "１２３", "12a", "-1", "1-2-3", "1 ", "99999999999999999999999"]
#: JSON nested deeper than any decoder's recursion limit.
DEEP_JSON = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 2000 + b"1" + b"}" * 2000


def duplicate_first_key(body: dict[str, Any]) -> bytes:
    """``body`` as JSON text with its first key repeated (with another value), as no JSON encoder writes it."""
    import json

    first = next(iter(body))
    text = json.dumps(body)
    return ("{" + json.dumps(first) + ': "other", ' + text[1:]).encode()


async def state(ex: Exchange) -> dict[str, Any]:
    """Everything a refused request must leave alone: money, orders, trades, markets, tickers, events."""
    markets = await ex.redis.hgetall(ex.keys.markets)
    return {
        **await snapshot(ex),
        "markets": markets,
        "tickers": {s: await ex.redis.hgetall(ex.keys.ticker(s)) for s in sorted(markets)},
        "events": await ex.redis.xlen(ex.keys.events),
    }
