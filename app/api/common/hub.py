"""The event hub: one reader of the events streams per API process, fanning every event out to its subscribers.

One :class:`EventHub` per process does the only reads of the shards' events streams while anyone listens:
a blocking ``XREAD`` per shard on a small Valkey client of its own, started with the first subscriber and
stopped with the last. Each entry is decoded once (:func:`app.engine.events.decode`) into a
:class:`HubEntry`, which encodes itself once per wire format (:class:`WireFormat`: a dialect's encoder under
a name) for every subscriber of that format. What one read brings goes out as one :class:`Chunk` per
:class:`~app.api.common.events.EventFilter` (the entries it wants), shared by every :class:`Subscription` of
that filter: one queue slot, one wake-up and one write per subscriber per read, however many events.

Each subscription has a bounded queue (``EVENTS_QUEUE``). The reader never waits for a subscriber: one
whose queue is full is dropped from the hub at once, and its stream ends with a :class:`Closed` notice that
carries the id of the last event it was given, to resume from (``Last-Event-ID`` / ``since=``).

A subscriber whose cursor is older than what the hub has read catches up first: from the hub's ring of
recent entries when the ring reaches back to its cursor, else from the stream itself (paged ``XRANGE`` on
the process's shared client) up to where the hub stands, and then joins the live feed in the same step (no
``await`` in between): no gap, no duplicate. With several shards, every event's id is the composite cursor
(one position per shard) that resumes right after it, and every shard's events keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import msgspec
from redis.asyncio import Redis

from app.api.common.errors import UNAVAILABLE
from app.api.common.events import EventFilter, id_key, join_cursor, latest_event_id, split_cursor, wider
from app.engine.events import Envelope, UnknownEvent, decode
from app.engine.models import FeeSchedule
from app.store.transport import connect

log = logging.getLogger(__name__)

T = TypeVar("T")

_PAGE = 500  # entries one read takes, at most
_BLOCK_MS = 1000  # below the reader's socket timeout
RING = 512  # recent entries kept for subscribers that join a little behind
#: After a read, the reader lets entries gather a moment before the next one: every subscriber then gets
#: them in one write instead of many. The pause grows with the subscribers (a wake-up costs one write each).
LINGER_PER_SUBSCRIBER = 0.0002
LINGER_MAX = 0.05
_SKIPPED = (UnknownEvent, ValueError, ArithmeticError, msgspec.MsgspecError)


@dataclass(frozen=True, slots=True)
class WireFormat(Generic[T]):
    """How a dialect puts an event on the wire; every entry encodes itself once per format (by ``name``)."""

    name: str
    encode: Callable[[HubEntry], T]


class HubEntry:
    """One event as the hub delivers it: the shard and stream position it came from, the event with its
    (composite) id, and its encodings, made on first use and shared by every subscriber."""

    __slots__ = ("_wire", "envelope", "key", "pos", "shard")

    def __init__(self, shard: int, pos: str, envelope: Envelope) -> None:
        self.shard = shard
        self.pos = pos  # the entry id in its shard's stream
        self.key = id_key(pos)
        self.envelope = envelope  # its id: the cursor that resumes right after it
        self._wire: dict[str, Any] = {}

    @property
    def id(self) -> str:
        return self.envelope.id

    def wire(self, fmt: WireFormat[T]) -> T:
        try:
            return cast(T, self._wire[fmt.name])
        except KeyError:
            value = self._wire[fmt.name] = fmt.encode(self)
            return value


class Chunk:
    """Entries handed out together: what one read brought that a filter wants. Every subscriber of that filter
    gets the same chunk, so a format's encodings of its entries are also joined once for all of them."""

    __slots__ = ("_joined", "entries")

    def __init__(self, entries: list[HubEntry]) -> None:
        self.entries = entries
        self._joined: dict[str, bytes] = {}

    def joined(self, fmt: WireFormat[bytes]) -> bytes:
        """Its entries' encodings in one piece (a stream's wire form, like SSE)."""
        try:
            return self._joined[fmt.name]
        except KeyError:
            value = self._joined[fmt.name] = b"".join([entry.wire(fmt) for entry in self.entries])
            return value


class Closed(msgspec.Struct, frozen=True, kw_only=True):
    """The last message of a stream the server ended: why, and the id to resume from."""

    type: str = "closed"
    reason: str
    lastId: str  # the wire's camelCase


#: Why a subscription ended (the ``reason`` of its :class:`Closed` notice).
SLOW = "too slow: {queue} events waited unread; reconnect with lastId as Last-Event-ID or since="
SHUTDOWN = "the server is shutting down; reconnect with lastId as Last-Event-ID or since="


@dataclass(eq=False, slots=True)
class _Run:
    """One stretch of reading, from the first subscriber to the last (or a lost Valkey)."""

    positions: list[str] = field(default_factory=list)  # the last entry read, per shard
    base: list[str] = field(default_factory=list)  # per shard, the position just before the ring's entries
    ring: deque[HubEntry] = field(default_factory=deque)
    groups: dict[EventFilter, dict[Subscription, None]] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None
    over: bool = False

    def covers(self, positions: list[str]) -> bool:
        """Whether the ring holds every entry after ``positions`` that this run has read."""
        return all(id_key(p) >= id_key(b) for p, b in zip(positions, self.base, strict=True))

    def remember(self, entry: HubEntry, size: int) -> None:
        if len(self.ring) >= size:
            old = self.ring.popleft()
            self.base[old.shard] = old.pos
        self.ring.append(entry)


class Subscription:
    """One subscriber's view of the hub: iterate :meth:`batches` for its events, in order, each once."""

    def __init__(self, hub: EventHub, cursor: str, flt: EventFilter, queue: int) -> None:
        self.flt = flt
        self.last_id = cursor  # the id of the last event handed out (at first: the cursor it started from)
        self.closed: Closed | None = None
        self._hub = hub
        self._positions = split_cursor(cursor)  # while catching up: where it stands in each shard
        self._queue = queue
        self._items: deque[Chunk] = deque()
        self._queued = 0  # events in _items
        self._backlog: list[HubEntry] = []
        self._aligned = False  # its ids are the hub's own (not before the first live entry it gets)
        self._waiting = False
        self._wake = asyncio.Event()
        self._error: BaseException | None = None
        self._run: _Run | None = None

    def offer(self, chunk: Chunk) -> bool:
        """Queue live entries; False when the queue is full (the hub then drops this subscriber)."""
        queued = self._queued + len(chunk.entries)
        if queued > self._queue:
            return False
        self._queued = queued
        self._items.append(chunk)
        if self._waiting:
            self._waiting = False
            self._wake.set()
        return True

    def end(self, reason: str | None, error: BaseException | None = None) -> None:
        """Stop taking entries: the queued ones are still handed out, then the stream ends."""
        if self.closed is None and self._error is None:
            self._error = error
            if reason is not None:
                self.closed = Closed(reason=reason, lastId=self.last_id)
        self._waiting = False
        self._wake.set()

    def join(self, run: _Run, backlog: list[HubEntry]) -> None:
        self._run = run
        self._backlog = backlog

    async def batches(self, idle: float) -> AsyncIterator[list[Chunk] | None]:
        """Its events, as many as are waiting at a time (``None`` after ``idle`` quiet seconds), until the stream
        ends. Raises the store's error when Valkey was lost; :attr:`closed` tells a stream the hub ended.
        """
        async for entries in self._hub.catch_up(self, self._positions):
            yield self._handed([Chunk(entries)])
        if self._backlog:
            backlog, self._backlog = self._backlog, []
            if entries := self._align(backlog):
                yield self._handed([Chunk(entries)])
        while True:
            items = self._items
            if items:
                chunks = list(items)
                items.clear()
                self._queued = 0
                if not self._aligned:
                    entries = self._align([entry for chunk in chunks for entry in chunk.entries])
                    chunks = [Chunk(entries)] if entries else []
                if chunks:
                    yield self._handed(chunks)
                continue
            if self._error is not None:
                raise self._error
            if self.closed is not None:
                self.closed = Closed(reason=self.closed.reason, lastId=self.last_id)
                return
            self._wake.clear()
            self._waiting = True
            try:
                async with asyncio.timeout(idle):
                    await self._wake.wait()
            except TimeoutError:
                yield None
            finally:
                self._waiting = False

    def _handed(self, chunks: list[Chunk]) -> list[Chunk]:
        self.last_id = chunks[-1].entries[-1].id
        return chunks

    def _align(self, batch: list[HubEntry]) -> list[HubEntry]:
        """Entries of the hub for a subscriber that joined at a cursor of its own: skip what it had already,
        and give each the id that resumes after it from where this subscriber stands, until the hub's ids
        are that (then this subscriber takes the hub's entries as they are)."""
        out: list[HubEntry] = []
        for i, entry in enumerate(batch):
            if entry.key <= id_key(self._positions[entry.shard]):
                continue  # before its cursor
            hub = split_cursor(entry.id)
            ids = wider(hub, self._positions)
            if ids == hub:
                self._aligned = True
                return out + batch[i:]
            self._positions = ids
            out.append(HubEntry(entry.shard, entry.pos, Envelope(join_cursor(ids), entry.envelope.event)))
        return out

    def leave(self) -> None:
        run = self._run
        if run is not None:
            group = run.groups.get(self.flt)
            if group is not None:
                group.pop(self, None)
                if not group:
                    del run.groups[self.flt]
            self._run = None


class EventHub:
    """The one reader of the events streams in this process, fanning out to bounded per-subscriber queues.

    ``redis`` is the process's shared client (catch-up reads); the blocking reads run on a small client of
    the hub's own, so a cancelled blocking read never poisons a connection the request handlers use.
    """

    def __init__(
        self,
        redis: Redis,
        url: str,
        keys: list[str],
        *,
        timeout: float,
        fees: FeeSchedule,
        queue: int = 1000,
        ring: int = RING,
    ) -> None:
        self._shared = redis
        self._url = url
        self._keys = keys
        self._timeout = timeout
        self._fees = fees
        self._queue = queue
        self._ring = ring
        # A read hands its entries to the subscribers in one step: with every shard's read in between two turns
        # of a subscriber, that must leave room in the queue of one that keeps up.
        self._count = max(1, min(_PAGE, queue // (2 * len(keys))))
        self._reader: Redis | None = None
        self._run: _Run | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscribers = 0
        self._idle = asyncio.Event()  # set while no one subscribes
        self._idle.set()
        self._closing = False

    @property
    def subscribers(self) -> int:
        """Open subscriptions (catching up or live)."""
        return self._subscribers

    @property
    def live(self) -> int:
        """Subscribers on the live feed."""
        run = self._run
        return 0 if run is None or run.over else sum(len(group) for group in run.groups.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, cursor: str, flt: EventFilter) -> AsyncIterator[Subscription]:
        """A subscription to the events after ``cursor`` that ``flt`` wants, for the duration of the block."""
        sub = Subscription(self, cursor, flt, self._queue)
        self._subscribers += 1
        self._idle.clear()
        try:
            yield sub
        finally:
            sub.leave()
            self._subscribers -= 1
            if self._subscribers == 0:
                self._idle.set()

    async def catch_up(self, sub: Subscription, positions: list[str]) -> AsyncIterator[list[HubEntry]]:
        """Replay what ``sub`` needs before the hub's live feed (``positions`` advance), then let it join."""
        while True:
            if self._closing:
                sub.end(SHUTDOWN)
                return
            run = self._current()
            await run.ready.wait()
            if run.error is not None:
                raise run.error
            if run.over:  # ended meanwhile (shutdown, or the hub lost Valkey): start again or stop above
                continue
            if run.covers(positions):
                self._join(run, sub, positions)
                return
            until = wider(list(run.positions), positions)
            async for batch in self._replay(positions, until, sub.flt):
                yield batch

    async def _replay(self, positions: list[str], until: list[str], flt: EventFilter) -> AsyncIterator[list[HubEntry]]:
        """The entries after ``positions`` up to ``until`` (per shard) that ``flt`` wants, a page at a time, read
        from the streams on the shared client; ``positions`` advance to ``until``.

        The shards' pages are merged by id: every shard's events keep their order, and each event's id is
        the cursor that resumes right after it from this subscriber's positions.
        """
        several = len(self._keys) > 1
        while True:
            pages = [
                await self._shared.xrange(key, min=f"({pos}", max=end, count=_PAGE) if id_key(pos) < id_key(end) else []
                for key, pos, end in zip(self._keys, positions, until, strict=True)
            ]
            merged = sorted(
                (id_key(entry_id), shard, entry_id, fields)
                for shard, page in enumerate(pages)
                for entry_id, fields in page
            )
            batch: list[HubEntry] = []
            for _, shard, entry_id, fields in merged:
                positions[shard] = entry_id
                envelope = self._decode(entry_id, fields, flt)
                if envelope is not None:
                    if several:
                        envelope = Envelope(join_cursor(positions), envelope.event)
                    batch.append(HubEntry(shard, entry_id, envelope))
            if batch:
                yield batch
            if all(len(page) < _PAGE for page in pages):
                positions[:] = wider(positions, until)  # nothing else is held up to there
                return

    def _decode(self, entry_id: str, fields: dict[str, str], flt: EventFilter | None = None) -> Envelope | None:
        """The entry as an event (None for one no release writes), if ``flt`` (when given) wants it."""
        etype = fields.get("type", "")
        if flt is not None and not flt.wants_type(etype):
            return None
        try:
            envelope = decode(entry_id, etype, fields.get("data", ""), self._fees)
        except _SKIPPED as exc:
            log.warning("skipping event %s of type %r: %s", entry_id, etype, exc)
            return None
        return envelope if flt is None or flt.wants(envelope) else None

    def _join(self, run: _Run, sub: Subscription, positions: list[str]) -> None:
        """Register ``sub`` with the run (no ``await``: nothing read in between is missed)."""
        flt = sub.flt
        backlog = [e for e in run.ring if e.key > id_key(positions[e.shard]) and flt.wants(e.envelope)]
        sub.join(run, backlog)
        run.groups.setdefault(flt, {})[sub] = None

    async def close(self, grace: float = 2.0) -> None:
        """End every stream (waiting up to ``grace`` seconds for them to finish), then stop reading."""
        self._closing = True
        run = self._run
        if run is not None:
            self._end(run, SHUTDOWN)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._idle.wait()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._reader is not None:
            await self._reader.aclose()
            self._reader = None

    def _current(self) -> _Run:
        """The running reader, started if there is none."""
        run = self._run
        if run is None or run.over:
            run = self._run = _Run()
            task = asyncio.create_task(self._read(run), name="mockx-event-hub")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return run

    def _end(self, run: _Run, reason: str | None, error: BaseException | None = None) -> None:
        run.over = True
        for group in run.groups.values():
            for sub in group:
                sub.end(reason, error)
        run.groups.clear()

    async def _read(self, run: _Run) -> None:
        try:
            if self._reader is None:  # a cluster client when the server is one (each XREAD goes to its slot)
                timeout = max(self._timeout, _BLOCK_MS / 1000 + 1)
                pool = 2 * len(self._keys) + 2  # a run that is ending may still hold its blocked reads
                self._reader = await connect(self._url, socket_timeout=timeout, max_connections=pool)
            run.positions = split_cursor(await latest_event_id(self._reader, self._keys))
            run.base = list(run.positions)
            run.ready.set()
            await asyncio.gather(*(self._follow(run, self._reader, shard) for shard in range(len(self._keys))))
        except UNAVAILABLE as exc:
            log.warning("event hub: Valkey is not available (%s); ending %d event streams", exc, self._subscribers)
            run.error = exc
            self._end(run, None, exc)
        except Exception as exc:
            log.exception("event hub: reading the events streams failed")
            run.error = exc
            self._end(run, None, exc)
        finally:
            run.over = True
            run.ready.set()

    async def _follow(self, run: _Run, redis: Redis, shard: int) -> None:
        """Read one shard's stream while anyone subscribes; every entry goes to the subscribers at once."""
        key = self._keys[shard]
        while self._reading(run):
            reply = await redis.xread({key: run.positions[shard]}, count=self._count, block=_BLOCK_MS)
            if reply and self._reading(run):
                entries = reply[0][1]
                self._publish(run, shard, entries)
                if len(entries) < self._count:
                    await asyncio.sleep(min(LINGER_MAX, LINGER_PER_SUBSCRIBER * self._subscribers))
        run.over = True  # the last subscriber left (a new one starts another run)

    def _reading(self, run: _Run) -> bool:
        return not run.over and self._subscribers > 0

    def _publish(self, run: _Run, shard: int, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Decode one read's entries (once), remember them, and hand each filter's share to its subscribers."""
        several = len(self._keys) > 1
        positions = run.positions
        read: list[HubEntry] = []
        for entry_id, fields in entries:
            positions[shard] = entry_id
            envelope = self._decode(entry_id, fields)
            if envelope is None:
                continue
            if several:
                envelope = Envelope(join_cursor(positions), envelope.event)
            entry = HubEntry(shard, entry_id, envelope)
            run.remember(entry, self._ring)
            read.append(entry)
        dropped: list[Subscription] = []
        for flt, group in run.groups.items():
            wanted = read if flt.everything else [e for e in read if flt.wants(e.envelope)]
            if wanted:
                chunk = Chunk(wanted)
                dropped += [sub for sub in group if not sub.offer(chunk)]
        for sub in dropped:
            sub.leave()
            sub.end(SLOW.format(queue=self._queue))
