"""Binance's rate limits: request weight per minute per IP, new orders per 10 s and per day per account.

Every response of the dialect reports the used weight (``X-MBX-USED-WEIGHT-1M``) and, for routes that place
orders, the order counts (``X-MBX-ORDER-COUNT-10S`` / ``-1D``), with Binance's weights (each route's
``opt["weight"]``). With ``RATE_LIMITS=enforce`` a request over a limit is answered 429 ``-1003`` with
``Retry-After`` (seconds to the next window); a client that sends again while still over after its 429 is
banned with 418 until two windows later. Counters live in the process (one API process is one Binance
front end; several processes each count their own share).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from app.api.binance.errors import BinanceError

MINUTE_MS, TEN_S_MS, DAY_MS = 60_000, 10_000, 86_400_000


@dataclass(slots=True)
class Window:
    """A fixed window counter: ``used`` in the window that started at ``start``."""

    length: int
    start: int = 0
    used: int = 0

    def add(self, now: int, amount: int) -> int:
        start = now - now % self.length
        if start != self.start:
            self.start, self.used = start, 0
        self.used += amount
        return self.used

    def retry_after(self, now: int) -> int:
        return max(1, (self.start + self.length - now + 999) // 1000)


@dataclass(slots=True)
class Limits:
    """The counters of one API process."""

    weights: dict[str, Window] = field(default_factory=dict)
    told: dict[str, int] = field(default_factory=dict)  # ip -> window start it was answered 429 in
    banned: dict[str, int] = field(default_factory=dict)  # ip -> ms until which it is banned
    orders_10s: dict[str, Window] = field(default_factory=dict)
    orders_day: dict[str, Window] = field(default_factory=dict)


def limits_of(state: Any) -> Limits:
    limits = getattr(state, "binance_limits", None)
    if limits is None:
        limits = state.binance_limits = Limits()
    return limits


def order_counts(state: Any, account: str) -> tuple[int, int]:
    limits, now = limits_of(state), int(time.time() * 1000)
    return limits.orders_10s.setdefault(account, Window(TEN_S_MS)).add(now, 0), limits.orders_day.setdefault(
        account, Window(DAY_MS)
    ).add(now, 0)


def count_weight(state: Any, ip: str, weight: int, *, limit: int, enforce: bool) -> int:
    """Add ``weight`` to the IP's minute; over ``limit`` (enforced) raise 429, then 418 for one that keeps going."""
    limits, now = limits_of(state), int(time.time() * 1000)
    until = limits.banned.get(ip)
    if enforce and until is not None and until > now:
        raise _too_many(418, f"Way too much request weight used; IP banned until {until}. Please use WebSocket "
                             "Streams for live updates to avoid bans.", (until - now + 999) // 1000)  # fmt: skip
    window = limits.weights.setdefault(ip, Window(MINUTE_MS))
    used = window.add(now, weight)
    if enforce and used > limit:
        if limits.told.get(ip) == window.start:
            until = window.start + 3 * MINUTE_MS
            limits.banned[ip] = until
            raise _too_many(418, f"Way too much request weight used; IP banned until {until}. Please use WebSocket "
                                 "Streams for live updates to avoid bans.", (until - now + 999) // 1000)  # fmt: skip
        limits.told[ip] = window.start
        raise _too_many(429, f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
                             "Please use WebSocket Streams for live updates to avoid polling the API.",
                        window.retry_after(now))  # fmt: skip
    return used


def count_order(state: Any, account: str, *, limit: int, enforce: bool) -> tuple[int, int]:
    """Count a new order of ``account``; over the 10 s limit (enforced) raise 429 -1015."""
    limits, now = limits_of(state), int(time.time() * 1000)
    ten = limits.orders_10s.setdefault(account, Window(TEN_S_MS))
    day = limits.orders_day.setdefault(account, Window(DAY_MS))
    ten_s, in_day = ten.add(now, 1), day.add(now, 1)
    if enforce and ten_s > limit:
        raise _too_many(429, f"Too many new orders; current limit is {limit} orders per 10 SECOND.",
                        ten.retry_after(now), code=-1015)  # fmt: skip
    return ten_s, in_day


def _too_many(status: int, msg: str, retry_after: int, code: int = -1003) -> BinanceError:
    return BinanceError(code, msg, status, {"Retry-After": str(retry_after)})
