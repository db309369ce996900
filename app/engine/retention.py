"""Retention: history (closed orders and trades) is kept for ``HISTORY_RETENTION`` and up to
``HISTORY_MAX_ORDERS`` rows per account, then trimmed by the workers' sweep.

Each account's oldest rows go in chunks of ``HISTORY_CHUNK`` (one short ``trim_history.lua`` call per
account and chunk, every account's call in one pipeline, routed per slot); a sweep makes at most ``rounds``
passes and leaves the rest to the next sweep, so the sweep stays short even when a lot has to go. Open orders, balances,
the ledger and the fill statistics are never trimmed: the overview and PnL do not change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

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
        done = Trimmed()

        def call(account: tuple[int, str]) -> Call:
            shard, name = account
            scripts = self.core.shard_scripts[shard]
            return scripts.trim_history(name, cutoff, settings.history_max_orders, settings.history_chunk)

        def take(_: tuple[int, str], reply: Any) -> bool:
            step = trim_step(reply)
            done.orders += step.orders
            done.trades += step.trades
            return step.more

        done.more = bool(await self.in_rounds(await self._accounts(), call, take, rounds))
        return done

    async def _accounts(self) -> list[tuple[int, str]]:
        """(shard, name) of every account (the calls of several shards go in one pipeline, routed per slot)."""
        records = await Accounts(self.core).records()
        return [(0, DEFAULT)] + [(r.shard, r.name) for r in records if r.name != DEFAULT]
