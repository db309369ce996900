"""Retention: history (closed orders and trades) is kept for ``HISTORY_RETENTION`` and up to
``HISTORY_MAX_ORDERS`` rows per account, then trimmed by the workers' sweep.

Each account's oldest rows go in chunks of ``HISTORY_CHUNK`` (one short ``trim_history.lua`` call per
account and chunk, the calls of one shard pipelined); a sweep makes at most ``rounds`` passes and leaves
the rest to the next sweep, so the sweep stays short even when a lot has to go. Open orders, balances,
the ledger and the fill statistics are never trimmed: the overview and PnL do not change.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from app.engine.accounts import DEFAULT, Accounts
from app.engine.core import Part
from app.store.scripts import trim_step
from app.store.transport import Call

#: How many passes over the accounts one sweep makes at most.
ROUNDS = 10


@dataclass(slots=True)
class Trimmed:
    """What a trim removed, and whether it stopped before removing everything it should have."""

    orders: int = 0
    trades: int = 0
    more: bool = False


class Retention(Part):
    """Trims the history of every account to the retention settings."""

    async def trim(self, *, now_ms: int | None = None, rounds: int = ROUNDS) -> Trimmed:
        """Trim every account's history that is older than the retention or beyond the row limit."""
        settings = self.settings
        now = int(time.time() * 1000) if now_ms is None else now_ms
        cutoff = now - int(settings.history_retention * 1000)
        pending = await self._accounts()
        done = Trimmed()
        for _ in range(rounds):
            if not pending:
                return done
            pending = await self._round(pending, cutoff, done)
        done.more = bool(pending)
        return done

    async def _accounts(self) -> dict[int, list[str]]:
        """Every account, by shard."""
        by_shard: dict[int, list[str]] = defaultdict(list)
        by_shard[0].append(DEFAULT)
        for record in await Accounts(self.core).records():
            if record.name != DEFAULT:
                by_shard[record.shard].append(record.name)
        return by_shard

    async def _round(self, pending: dict[int, list[str]], cutoff: int, done: Trimmed) -> dict[int, list[str]]:
        """One trim call per pending account; the accounts with more to trim, by shard."""
        settings = self.settings
        left: dict[int, list[str]] = {}
        for shard, names in pending.items():
            scripts = self.core.shard_scripts[shard]
            calls: list[Call] = [
                scripts.trim_history(name, cutoff, settings.history_max_orders, settings.history_chunk)
                for name in names
            ]
            more = []
            for name, reply in zip(names, await self.transport.execute(calls), strict=True):
                if isinstance(reply, Exception):
                    raise reply
                step = trim_step(reply)
                done.orders += step.orders
                done.trades += step.trades
                if step.more:
                    more.append(name)
            if more:
                left[shard] = more
        return left
