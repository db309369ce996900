"""The dashboard's equity curve: bounded in-memory snapshots of an account's value, kept by the API process.

The engine keeps no history of an account's value, and its ledger holds deposit and withdrawal *totals*, not
their times, so the curve cannot be derived after the fact. Instead each API process keeps snapshots of the
accounts a dashboard watches: ``(time, equity, net deposits, flow)``, equity and net deposits in
``CASH_ASSET`` as ``GET /overview/capital`` values them. A snapshot is taken whenever a dashboard reads the
curve (the page reads it again after every balance event) and every :data:`SAMPLE_SECONDS` while a dashboard
watched the account within :data:`WATCH_SECONDS`. ``flow`` is the value of the money that crossed the
account boundary since the snapshot before (the change of the ledger's deposited minus withdrawn, at current
prices; an asset with no price in ``CASH_ASSET`` counts for nothing, as in the overview), so the page marks
deposits and withdrawals and profit is not confused with funding.

Bounds: at most :data:`MAX_POINTS` snapshots per account (when full, every second snapshot of the older half
is dropped, except those that carry a flow), and at most :data:`MAX_ACCOUNTS` accounts (the one read least
recently is forgotten). A run of equal snapshots keeps two points, the first and the newest. Nothing is
written to Valkey: the curve starts when a dashboard first watches an account in this process and is lost at
a restart; with several API processes each keeps its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from decimal import Decimal

import msgspec

from app.engine import portfolio
from app.engine.exchange import Exchange
from app.engine.money import CTX, tidy

log = logging.getLogger(__name__)

MAX_POINTS = 1000
MAX_ACCOUNTS = 100
SAMPLE_SECONDS = 10.0
WATCH_SECONDS = 3600.0
CLOSE_SECONDS = 2.0
ZERO = Decimal(0)


class EquityPoint(msgspec.Struct, frozen=True):
    """One snapshot: ``ts`` (ms), ``equity`` and ``netDeposits`` in the cash asset, ``flow`` (money in minus
    money out since the snapshot before, valued at the prices of this one)."""

    ts: int
    equity: Decimal
    netDeposits: Decimal
    flow: Decimal


class EquityCurve(msgspec.Struct, frozen=True):
    """An account's snapshots, oldest first, and the bounds they are kept under."""

    account: str
    cashAsset: str
    points: list[EquityPoint]
    unpriced: list[str]
    sampleSeconds: float
    maxPoints: int


class _Series:
    __slots__ = ("ledger", "points", "read_at")

    def __init__(self) -> None:
        self.points: list[EquityPoint] = []
        self.ledger: dict[str, tuple[Decimal, Decimal]] = {}  # asset: (deposited, withdrawn), as last seen
        self.read_at = 0.0

    def add(self, point: EquityPoint, limit: int) -> None:
        pts = self.points
        if len(pts) >= 2 and point.flow == 0 and _same(pts[-1], point) and _same(pts[-2], point):
            pts[-1] = point  # a flat run keeps its first and its newest point
            return
        pts.append(point)
        if len(pts) > limit:
            self.points = _thinned(pts)


def _thinned(points: list[EquityPoint]) -> list[EquityPoint]:
    """Every second point of the older half that carries no flow dropped (the oldest point, if all do)."""
    half = len(points) // 2
    plain = [i for i, p in enumerate(points[:half]) if p.flow == 0]
    drop = set(plain[1::2]) or set(plain[:1]) or {0}
    return [p for i, p in enumerate(points[:half]) if i not in drop] + points[half:]


def _same(a: EquityPoint, b: EquityPoint) -> bool:
    return a.equity == b.equity and a.netDeposits == b.netDeposits


def _moved(before: tuple[Decimal, Decimal], now: tuple[Decimal, Decimal]) -> Decimal:
    """What came in minus what went out between two ledger rows of an asset."""
    return tidy(CTX.subtract(CTX.subtract(now[0], before[0]), CTX.subtract(now[1], before[1])))


class EquityBook:
    """The snapshots of every watched account of one API process (see the module docstring)."""

    def __init__(
        self,
        exchange: Exchange,
        *,
        max_points: int = MAX_POINTS,
        max_accounts: int = MAX_ACCOUNTS,
        sample_seconds: float = SAMPLE_SECONDS,
    ) -> None:
        self._exchange = exchange
        self._series: OrderedDict[str, _Series] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self.max_points, self.max_accounts, self.sample_seconds = max_points, max_accounts, sample_seconds
        self._task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    async def curve(self, exchange: Exchange) -> EquityCurve:
        """A fresh snapshot of ``exchange``'s account, then its whole curve; the account is watched from now."""
        name = exchange.account.name
        series = self._series.get(name) or _Series()
        self._series[name] = series
        self._series.move_to_end(name)
        while len(self._series) > self.max_accounts:
            forgotten, _ = self._series.popitem(last=False)
            self._locks.pop(forgotten, None)
        series.read_at = time.monotonic()
        capital = await self._sample(exchange, series)
        self._start()
        return EquityCurve(
            account=name,
            cashAsset=capital.cash_asset,
            points=list(series.points),
            unpriced=capital.unpriced,
            sampleSeconds=self.sample_seconds,
            maxPoints=self.max_points,
        )

    async def _sample(self, exchange: Exchange, series: _Series) -> portfolio.Capital:
        async with self._locks.setdefault(exchange.account.name, asyncio.Lock()):
            balance = await exchange.fetch_balance()
            ledger = await exchange.ledger()
            stats = await exchange.trade_stats()
            prices = await portfolio.cash_prices(exchange)
            cash = exchange.settings.cash_asset
            capital = portfolio.compute_capital(cash, balance, ledger, stats, prices)
            rows = {a: (row["deposited"], row["withdrawn"]) for a, row in ledger.items()}
            seen = series.ledger
            if any(rows.get(a, (ZERO, ZERO))[i] < was[i] for a, was in seen.items() for i in (0, 1)):
                series.points, seen = [], {}  # totals only grow: the account was reset, a new curve starts
            if series.points:
                moved = ((a, _moved(seen.get(a, (ZERO, ZERO)), now)) for a, now in rows.items())
                flow = portfolio.exact_sum(
                    value for a, delta in moved if delta and (value := portfolio.value_of(delta, prices.get(a)))
                )
            else:
                flow = capital.net_deposits  # the first snapshot: everything deposited so far came in before it
            series.ledger = rows
            point = EquityPoint(int(time.time() * 1000), capital.equity, capital.net_deposits, flow)
            series.add(point, self.max_points)
            return capital

    def _start(self) -> None:
        if not self._closed.is_set() and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name="dashboard-equity")

    async def _run(self) -> None:
        """Every ``sample_seconds``: a snapshot of each account watched lately; stops when none is, or at close."""
        while not self._closed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self.sample_seconds)
            if self._closed.is_set():
                return
            now = time.monotonic()
            watched = [(n, s) for n, s in self._series.items() if now - s.read_at < WATCH_SECONDS]
            if not watched:
                return
            for name, series in watched:
                try:
                    await self._sample(await self._exchange.for_account(name), series)
                except Exception as exc:  # an account deleted, Valkey away: try again at the next round
                    log.debug("equity snapshot of %s skipped: %s", name, exc)

    async def close(self) -> None:
        """Stop sampling: the loop ends at its next turn (a snapshot under way finishes first, so no Valkey
        call is cancelled mid-command), or is cancelled after :data:`CLOSE_SECONDS`."""
        self._closed.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            _, pending = await asyncio.wait({task}, timeout=CLOSE_SECONDS)
            for late in pending:
                late.cancel()
