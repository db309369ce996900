"""The settlement worker: one consumer of the price stream's consumer group.

It runs the four phases of a stream consumer:

1. create the group (from the first entry of the stream; only ``BUSYGROUP`` is ignored);
2. drain its own pending entries (id ``0``), so a restarted replica first finishes what it held;
3. ``XREADGROUP >`` with ``BLOCK`` below the socket timeout, many entries per call;
4. every ``claim_every`` seconds, an ``XAUTOCLAIM`` pass over entries idle longer than ``claim_idle_ms`` in
   any consumer (a dead replica), keeping its cursor between passes. An entry delivered more than
   ``max_deliveries`` times goes to the dead-letter stream instead of being applied again.

A batch is grouped into runs, one per symbol in stream order, and applied with one pipelined write
holding a ``settle_batch`` call per run, which applies the run's ticks as ``settle_tick`` would one by
one. A call that runs out of its budget of orders (``SETTLE_CHUNK``) is continued: the tick under way
with ``settle_tick`` calls, the ticks after it in the next round of ``settle_batch`` calls. Then the whole
batch is acknowledged. The worker reads one batch ahead: while Valkey runs batch k, Python parses batch k + 1
(the calls go through :meth:`app.store.transport.Transport.send`, which sends now and reads later).
Ticks are idempotent (see ``app/store/lua/settle_tick.lua``), so a redelivered or reclaimed entry changes
nothing twice, and two workers give the result of applying every tick once in stream order. After the
XACK, in its round trip, the candles' counted ids are marked acknowledged (*Candles* in :mod:`app.store.keys`).

A malformed entry is dead-lettered, acknowledged and counted at once. Every ``TICK_LOOP_SEC`` one worker
(whoever takes the sweep lease) publishes prices written to the older keys, re-checks resting orders
against the latest prices and trims history past its retention (:mod:`app.engine.retention`). Each worker
keeps a heartbeat key with a TTL; ``mockx worker --check`` reads it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from app.engine.exchange import Exchange
from app.engine.ticks import MalformedTick, Tick, parse_tick
from app.settings import Settings
from app.store.protocol import SettlePhase
from app.store.retry import TRANSIENT, retrying
from app.store.scripts import batch_step, settle_step
from app.store.transport import Call, Sent
from app.workers.legacy import publish_legacy_prices
from app.workers.options import Counters, Heartbeat, WorkerOptions, heartbeat_encoder

log = logging.getLogger(__name__)

Entry = tuple[str, dict[str, str]]

DEAD_LETTERS_MAXLEN = 10_000
_CLAIM_ROUNDS = 10  # XAUTOCLAIM calls per pass at most; the cursor carries the rest to the next pass
_FAILING_AFTER = 3  # consecutive batches in which every tick failed before the heartbeat says unhealthy
_fields_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class _DeadLetter:
    entry_id: str
    fields: dict[str, str]
    reason: str
    kind: str  # malformed | deliveries


@dataclass(slots=True)
class _Tick:
    entry_id: str
    tick: Tick
    values: list[str]  # tick.settle_values()


@dataclass(slots=True)
class _Run:
    """The ticks of one symbol, in stream order, to apply to one shard."""

    shard: int
    ticks: list[_Tick]


@dataclass(slots=True)
class _Batch:
    """Entries read together: what to acknowledge as is, what to dead-letter, and the ticks in runs.

    A run is all the ticks of one symbol for one shard, in stream order (each symbol has a run per shard);
    ``calls`` holds the settle_batch call of each run, packed for the wire. An entry is applied once every
    shard applied it.
    """

    entries: list[Entry]
    ack: list[str] = field(default_factory=list)
    dead: list[_DeadLetter] = field(default_factory=list)
    runs: list[_Run] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    new_symbols: bool = False  # a symbol whose market record the exchange has not cached yet


class Worker:
    """One settlement worker. ``run()`` returns when ``stop`` is set, or in burst mode when drained."""

    def __init__(self, exchange: Exchange, options: WorkerOptions, stop: asyncio.Event | None = None) -> None:
        options.check(exchange.settings)
        self.ex = exchange
        self.redis: Redis = exchange.redis
        self.keys = exchange.keys
        self.settings = exchange.settings
        self.stream = exchange.settings.price_stream
        self.opts = options
        self.stop = stop or asyncio.Event()
        self.counters = Counters()
        self.transport = exchange.transport
        self._started = _now_ms()
        self._claim_cursor = "0-0"
        self._next_beat = 0.0
        self._next_claim = 0.0
        self._next_sweep = 0.0
        self._failing = 0
        self._cached_markets: set[str] = set()
        self._shards = range(len(exchange.core.shard_scripts))

    # the loop ------------------------------------------------------------------------------------------
    async def run(self) -> Counters:
        name = self.opts.name
        await retrying(self._session, what=f"worker {name}", stop=self.stop)
        with contextlib.suppress(*TRANSIENT):
            await self.redis.delete(self.keys.heartbeat(name))
        c = self.counters
        log.info(
            "worker %s stopped: %d ticks applied, %d fills, %d claimed, %d dead-lettered",
            name, c.processed, c.filled, c.claimed, c.dead,
        )  # fmt: skip
        return c

    async def _session(self) -> None:
        """One connection's worth of work; a transient error restarts it from phase 1."""
        await self._create_group()
        self._cached_markets = set(await self.ex.market_records())
        await self._beat(force=True)
        await self._drain_own()
        if self.opts.burst:
            await self._burst()
            return
        log.info(
            "worker %s consuming %s in group %s (batch %d, block %d ms)",
            self.opts.name, self.stream, self.opts.group, self.opts.batch, self.opts.block_ms,
        )  # fmt: skip
        await self._consume(block=self.opts.block_ms)

    async def _consume(self, *, block: int | None) -> None:
        """Phase 3, reading one batch ahead: while Valkey runs batch k, Python reads and prepares k + 1.

        Batches are applied strictly in the order read. A read only blocks when nothing is in hand; without
        ``block`` (burst mode) the first empty read ends it.
        """
        held: _Batch | None = None
        while True:
            entries: list[Entry] = []
            if not self.stop.is_set():
                entries = await self._read(">", block=None if held else block)
            if held is None and not entries:
                if block is None or self.stop.is_set():
                    return
                await self._periodic()
                continue
            sent = await self._send(held) if held else None
            try:
                upcoming = self._prepare(entries, {}) if entries else None
            finally:  # the batch in flight is read back and acknowledged whatever happens meanwhile
                if held is not None:
                    await self._apply(held, sent)
            if held is not None:
                if block is None:
                    await self._beat()
                else:
                    await self._periodic()
            held = upcoming

    async def _create_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.opts.group, id="0", mkstream=True)
            log.info("created consumer group %s on %s", self.opts.group, self.stream)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _read(self, start: str, block: int | None = None) -> list[Entry]:
        try:
            reply: Any = await self.redis.xreadgroup(
                self.opts.group, self.opts.name, {self.stream: start}, count=self.opts.batch, block=block
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("consumer group %s on %s vanished; creating it again", self.opts.group, self.stream)
            await self._create_group()
            return []
        return cast("list[Entry]", reply[0][1]) if reply else []

    async def _drain_own(self) -> None:
        """Phase 2: entries this consumer name received before and never acknowledged."""
        start = "0"
        while not self.stop.is_set():
            entries = await self._read(start)
            if not entries:
                return
            log.info("worker %s: finishing %d entries it held before", self.opts.name, len(entries))
            await self._handle(entries, pending=True)
            start = entries[-1][0]
            await self._beat()

    async def _burst(self) -> None:
        """Drain everything there is (new entries, then idle ones of others), then return."""
        if self.opts.sweep:
            await self._sweep(lease=False)
        while not self.stop.is_set():
            await self._consume(block=None)
            if not await self._claim():
                return

    async def _periodic(self) -> None:
        now = asyncio.get_running_loop().time()
        if now >= self._next_claim:
            self._next_claim = now + self.opts.claim_every
            await self._claim()
        if self.opts.sweep and now >= self._next_sweep:
            self._next_sweep = now + self.settings.tick_loop_sec
            await self._sweep(lease=True)
        await self._beat()

    async def _claim(self) -> int:
        """Phase 4: take over entries idle too long in any consumer; returns how many were handled."""
        handled = 0
        for _ in range(_CLAIM_ROUNDS):
            cursor, entries, deleted = await self.redis.xautoclaim(
                self.stream,
                self.opts.group,
                self.opts.name,
                min_idle_time=self.opts.claim_idle_ms,
                start_id=self._claim_cursor,
                count=self.opts.batch,
            )
            self._claim_cursor = cursor
            if deleted:
                log.warning("%d pending entries were trimmed from %s before being applied", len(deleted), self.stream)
            if entries:
                log.info("worker %s claimed %d entries idle for over %d ms", self.opts.name, len(entries),
                         self.opts.claim_idle_ms)  # fmt: skip
                self.counters.claimed += len(entries)
                await self.redis.hincrby(self.keys.worker_stats, "claimed", len(entries))
                await self._handle(entries, pending=True)
                handled += len(entries)
            if cursor == "0-0":
                break
        return handled

    # one batch -----------------------------------------------------------------------------------------
    async def _handle(self, entries: list[Entry], *, pending: bool) -> None:
        """Apply a batch of entries and acknowledge what is done; failures stay pending for a retry."""
        deliveries = await self._deliveries(entries) if pending else {}
        batch = self._prepare(entries, deliveries)
        await self._apply(batch, await self._send(batch))

    def _prepare(self, entries: list[Entry], deliveries: dict[str, int]) -> _Batch:
        """Sort a batch into acknowledgements, dead letters and runs of ticks; pack each run's settle_batch call."""
        batch = _Batch(entries)
        runs: dict[str, list[_Tick]] = {}  # per symbol, the run being filled
        for entry_id, fields in entries:
            if not fields:  # deleted or trimmed while it was pending
                batch.ack.append(entry_id)
                continue
            times = deliveries.get(entry_id, 1)
            if times > self.opts.max_deliveries:
                reason = f"delivered {times} times without being acknowledged (limit {self.opts.max_deliveries})"
                batch.dead.append(_DeadLetter(entry_id, fields, reason, "deliveries"))
                continue
            try:
                tick = parse_tick(fields, entry_id, book_levels=self.settings.book_levels)
            except MalformedTick as exc:
                batch.dead.append(_DeadLetter(entry_id, fields, str(exc), "malformed"))
                continue
            run = runs.get(tick.symbol)
            if run is None:
                run = runs[tick.symbol] = []
                batch.runs += [_Run(shard, run) for shard in self._shards]
            run.append(_Tick(entry_id, tick, tick.settle_values()))
        for r in batch.runs:
            batch.new_symbols = batch.new_symbols or r.ticks[0].tick.symbol not in self._cached_markets
            batch.calls.append(self._batch_call(r))
        return batch

    async def _send(self, batch: _Batch) -> Sent | None:
        return await self.transport.send(batch.calls) if batch.calls else None

    async def _apply(self, batch: _Batch, sent: Sent | None) -> None:
        ticks = sum(len(r.ticks) for r in batch.runs)
        applied, filled = await self._settle(batch, sent) if ticks else ([], 0)
        if batch.new_symbols:  # their first tick registered them: later settle calls reuse the records
            self._cached_markets = set(await self.ex.market_records())
        self._failing = self._failing + 1 if ticks and not applied else 0
        await self._acknowledge(batch.ack + applied, batch.dead, len(applied), filled)
        c = self.counters
        c.processed += len(applied)
        c.filled += filled
        c.dead += len(batch.dead)
        c.last_id = batch.entries[-1][0]

    async def _settle(self, batch: _Batch, sent: Sent | None) -> tuple[list[str], int]:
        """Read the settle_batch replies of the runs sent; settle what they left, round by round.

        A call stops early when its budget of orders runs out: the tick under way is finished with
        settle_tick calls, and the ticks after it go in the next round's settle_batch calls. A run whose
        call failed is settled tick by tick instead, so one bad tick only holds back itself.
        """
        applied: list[str] = []
        filled = 0
        runs = batch.runs
        assert sent is not None
        while True:
            again: list[_Run] = []
            for run, reply in zip(runs, await self.transport.receive(sent), strict=True):
                if isinstance(reply, TRANSIENT):
                    raise reply
                if isinstance(reply, Exception):
                    log.warning("settle_batch failed for %s; settling its ticks one by one: %s",
                                run.ticks[0].tick.symbol, reply)  # fmt: skip
                    done, count = await self._one_by_one(run)
                    applied.extend(done)
                    filled += count
                    continue
                step = batch_step(reply)
                applied.extend(t.entry_id for t in run.ticks[: step.applied])
                filled += step.filled
                rest = run.ticks[step.applied :]
                if not step.done:  # the tick under way crosses more than the budget left
                    current, rest = rest[0], rest[1:]
                    try:
                        finished = await self.ex.finish_tick(
                            current.entry_id, current.tick, step.continuation(), run.shard
                        )
                    except TRANSIENT:
                        raise
                    except Exception as exc:  # it stays pending, and so do the ticks after it
                        self._failed(current.entry_id, exc)
                        continue
                    applied.append(current.entry_id)
                    filled += finished.filled
                if rest:
                    again.append(_Run(run.shard, rest))
            if not again:
                return self._on_every_shard(applied), filled
            runs = again
            sent = await self.transport.send([self._batch_call(run) for run in again])

    def _on_every_shard(self, applied: list[str]) -> list[str]:
        """The entries every shard applied, in the order first seen (with one shard: ``applied`` itself)."""
        if len(self._shards) == 1:
            return applied
        times = collections.Counter(applied)
        return [entry for entry in dict.fromkeys(applied) if times[entry] == len(self._shards)]

    async def _one_by_one(self, run: _Run) -> tuple[list[str], int]:
        """Settle a run with settle_tick: every tick's first call pipelined, then the chunks left."""
        calls = []
        scripts = self.ex.core.shard_scripts[run.shard]
        for t in run.ticks:
            keys, args = self.ex.settle_call_args(
                t.entry_id, t.tick, SettlePhase.FIRST, (0, 0), t.values, shard=run.shard
            )
            calls.append(scripts.call("settle_tick", keys, args))
        replies = await self.transport.execute(calls)
        applied: list[str] = []
        filled = 0
        for t, reply in zip(run.ticks, replies, strict=True):
            try:
                if isinstance(reply, Exception):
                    raise reply
                first = settle_step(reply)
                if first.done:
                    count = first.filled
                else:
                    count = (await self.ex.finish_tick(t.entry_id, t.tick, first, run.shard)).filled
            except TRANSIENT:
                raise
            except Exception as exc:  # one bad tick must not stop the others; it stays pending
                self._failed(t.entry_id, exc)
                continue
            applied.append(t.entry_id)
            filled += count
        return applied, filled

    def _batch_call(self, run: _Run) -> Call:
        ticks = [(t.entry_id, t.values) for t in run.ticks]
        keys, args = self.ex.settle_batch_call_args(run.ticks[0].tick.symbol, ticks, run.shard)
        return self.ex.core.shard_scripts[run.shard].call("settle_batch", keys, args)

    async def _acknowledge(self, ack: list[str], dead: list[_DeadLetter], processed: int, filled: int) -> None:
        """Dead letters, counters and XACK in one round trip; XACK last, so a crash only repeats work."""
        stats = self.keys.worker_stats
        commands: list[Call] = []
        command = self.transport.plain_call
        for d in dead:
            fields = _fields_encoder.encode(d.fields).decode()
            commands.append(
                command("XADD", self.keys.dead_letters, "MAXLEN", "~", DEAD_LETTERS_MAXLEN, "*", "entry", d.entry_id,
                        "stream", self.stream, "reason", d.reason, "consumer", self.opts.name, "fields", fields)
            )  # fmt: skip
            commands.append(command("HINCRBY", stats, f"dead:{d.kind}", 1))
        for name, count in (("dead", len(dead)), ("processed", processed), ("filled", filled)):
            if count:
                commands.append(command("HINCRBY", stats, name, count))
        ids = ack + [d.entry_id for d in dead]
        if ids:
            commands.append(command("XACK", self.stream, self.opts.group, *ids))
        if ack:  # after the XACK: the candles' counted ids of these entries are marked acknowledged
            stamp = -_now_ms()
            commands.append(command("ZADD", self.keys.candles_counted, "XX", *(x for i in ack for x in (stamp, i))))
        if commands:
            for reply in await self.transport.execute(commands):
                if isinstance(reply, Exception):
                    raise reply
        for d in dead:
            log.warning("dead-lettered price entry %s: %s", d.entry_id, d.reason)

    async def _deliveries(self, entries: list[Entry]) -> dict[str, int]:
        """How many times each pending entry was delivered (XPENDING of this consumer)."""
        rows = await self.redis.xpending_range(
            self.stream,
            self.opts.group,
            min=entries[0][0],
            max=entries[-1][0],
            count=2 * len(entries) + self.opts.batch,
            consumername=self.opts.name,
        )
        return {str(row["message_id"]): int(row["times_delivered"]) for row in rows}

    def _failed(self, entry_id: str, exc: BaseException) -> None:
        self.counters.errors += 1
        self.counters.last_error = f"{entry_id}: {type(exc).__name__}: {exc}"
        log.error("price entry %s failed and stays pending for a retry: %s", entry_id, exc, exc_info=exc)

    # sweep and liveness --------------------------------------------------------------------------------
    async def _sweep(self, *, lease: bool) -> None:
        """Publish prices written to the older keys, re-check resting orders at the latest prices, trim history."""
        if lease:
            px = max(1, int(self.settings.tick_loop_sec * 900))
            if not await self.redis.set(self.keys.sweep_lease, self.opts.name, nx=True, px=px):
                return
        published = await publish_legacy_prices(self.redis, self.keys, self.settings)
        filled = await self.ex.sweep()
        if published or filled:
            log.info("sweep: %d prices picked up from older keys, %d orders filled", published, filled)
        trimmed = await self.ex.trim_history()
        if trimmed.orders or trimmed.trades:
            more = " (more next sweep)" if trimmed.more else ""
            log.info("sweep: history trimmed: %d orders, %d trades%s", trimmed.orders, trimmed.trades, more)
        if (candles := await self.ex.trim_candles())[0]:
            log.info("sweep: %d candles past their retention trimmed%s", candles[0], " (more next sweep)" * candles[1])

    async def _beat(self, *, force: bool = False) -> None:
        now = asyncio.get_running_loop().time()
        if not force and now < self._next_beat:
            return
        self._next_beat = now + self.opts.heartbeat_every
        beat = Heartbeat(
            name=self.opts.name,
            pid=os.getpid(),
            host=socket.gethostname(),
            group=self.opts.group,
            stream=self.stream,
            started=self._started,
            last_beat=_now_ms(),
            healthy=self._failing < _FAILING_AFTER,
            **msgspec.structs.asdict(self.counters),
        )
        await self.redis.set(
            self.keys.heartbeat(self.opts.name),
            heartbeat_encoder.encode(beat),
            px=int(self.opts.heartbeat_ttl * 1000),
        )


async def serve(settings: Settings, options: WorkerOptions, stop: asyncio.Event) -> Counters:
    """Open the exchange (waiting for Valkey if it is not up yet) and run one worker until ``stop``."""
    ex = await retrying(lambda: Exchange.open(settings), what=f"worker {options.name}", stop=stop)
    if ex is None:
        return Counters()
    try:
        return await Worker(ex, options, stop).run()
    finally:
        await ex.close()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
