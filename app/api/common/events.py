"""Live events over HTTP: Server-Sent Events and a WebSocket twin, both served from the capped events stream.

Every state change is an entry of ``{ns}:events`` (the entry id is the event id). A client reads the
stream from its own cursor with ``XRANGE`` (non-blocking, so a client holds no Valkey connection while it
waits); one :class:`EventHub` per process does the only blocking ``XREAD`` and wakes the clients when
new entries arrive. A client that reconnects with ``Last-Event-ID`` continues from that id, so it misses
nothing the stream still holds and sees nothing twice. :func:`check_cursor` refuses an id the stream never
issued (after its newest) and tells when events after the id were trimmed away (a *gap*).

Each entry is decoded once into a domain event (:mod:`app.engine.events`); the dialect that serves the
client encodes it into its own wire shape. A client sees only its own account's events and market data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from app.api.common.errors import UNAVAILABLE
from app.engine.accounts import DEFAULT
from app.engine.errors import BadRequest
from app.engine.events import EVENT_GROUPS, EVENT_TYPES, Envelope, UnknownEvent, decode
from app.store.retry import retrying
from app.store.transport import connect

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9]{1,20}(?:-[0-9]{1,20})?")  # ASCII digits only (\d matches "١٢٣" too), in full
_PAGE = 500
_U64 = 2**64 - 1  # each half of a stream id is an unsigned 64-bit integer
_BLOCK_MS = 1000


#: An :class:`EventFilter` ``account`` that takes the events of every account (the admin's ``account=*``).
EVERY_ACCOUNT = "*"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a client wants: types (exact, ``order.*`` or ``order``), one symbol, and one account.

    ``account`` is the only account whose events pass (:data:`EVERY_ACCOUNT`: all of them); market data
    (events of no account, like ``ticker.updated``) passes whatever it says.
    """

    types: tuple[str, ...] = ()
    symbol: str | None = None
    account: str = DEFAULT

    @classmethod
    def parse(cls, types: str | None, symbol: str | None, account: str = DEFAULT) -> EventFilter:
        wanted: list[str] = []
        for part in (types or "").split(","):
            part = part.strip()
            if not part:
                continue
            if not _known(part):
                hint = f" (did you mean {part[:-1]!r}?)" if part.endswith("s") and _known(part[:-1]) else ""
                raise BadRequest(
                    f"types: {part!r} is not an event type{hint}; use a type ({', '.join(EVENT_TYPES)}), "
                    f"a group ({', '.join(EVENT_GROUPS)}) or a group's prefix like order.*"
                )
            wanted.append(part)
        return cls(tuple(wanted), symbol, account)

    def wants_type(self, etype: str) -> bool:
        if not self.types:
            return True
        group = etype.split(".", 1)[0]
        for want in self.types:
            if want in (etype, group):
                return True
            if want.endswith("*") and etype.startswith(want[:-1]):
                return True
        return False

    def wants_symbol(self, symbol: str | None) -> bool:
        return self.symbol is None or symbol == self.symbol

    def wants_account(self, account: str | None) -> bool:
        return account is None or self.account in (EVERY_ACCOUNT, account)


def _known(want: str) -> bool:
    """Whether a filter word names a type, a group or a prefix of some type (``order.*``)."""
    if want in EVENT_TYPES or want in EVENT_GROUPS:
        return True
    return want.endswith("*") and any(t.startswith(want[:-1]) for t in EVENT_TYPES)


#: Separates the per-shard positions of a cursor when the exchange has several shards.
SEPARATOR = ","


def parse_cursor(raw: str | None, shards: int = 1) -> str | None:
    """A client's resume point: an event id (``1700000000000-0``), ``all`` / ``0`` for everything, or None.

    With several shards a cursor is one id per shard's events stream, joined by ``,`` (an opaque string to
    clients: they send back the last ``id`` they saw); ``all`` stands for the start of every stream.
    """
    if not raw:
        return None
    text = raw  # nothing stripped: " 5" names no event
    if text.lower() == "all":
        return join_cursor(["0-0"] * shards)
    parts = text.split(SEPARATOR)
    if len(parts) != shards:
        raise BadRequest(f"{text!r} is not an event id of this exchange: send back the id of the last event seen")
    return join_cursor([_one_id(part) for part in parts])


def _one_id(text: str) -> str:
    ms, _, seq = text.partition("-")
    if not _ID.fullmatch(text) or int(ms) > _U64 or int(seq or 0) > _U64:
        raise BadRequest(f"{text!r} is not an event id: use the id of the last event seen, like 1700000000000-0")
    return text if "-" in text else f"{text}-0"


def join_cursor(ids: list[str]) -> str:
    return SEPARATOR.join(ids)


def split_cursor(cursor: str) -> list[str]:
    return cursor.split(SEPARATOR)


@dataclass(frozen=True, slots=True)
class Gap:
    """Events after a client's cursor that the capped stream no longer holds: replay resumes at ``first``."""

    since: str
    first: str  # the oldest event still held

    def message(self) -> str:
        return (
            f"events after {self.since} are no longer held (the events stream is capped by EVENTS_MAXLEN): "
            f"replay resumes at {self.first}, the oldest event held; events before it may be missed"
        )


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def check_cursor(redis: Redis, keys: list[str], cursor: str) -> Gap | None:
    """Refuse a cursor after the newest event of a shard; a :class:`Gap` if events after it may be trimmed."""
    for key, part in zip(keys, split_cursor(cursor), strict=True):
        gap = await _check_one(redis, key, part)
        if gap is not None:
            return Gap(since=cursor, first=gap.first) if len(keys) > 1 else gap
    return None


async def _check_one(redis: Redis, key: str, cursor: str) -> Gap | None:
    """One shard's stream: ``0-0`` (``since=all``) asks for whatever it holds: never refused, never a gap."""
    if cursor == "0-0":
        return None
    try:
        info = await redis.xinfo_stream(key)
    except ResponseError:  # no such stream: no event was ever written (or all were wiped)
        info = {}
    newest = str(info.get("last-generated-id") or "0-0")
    if _id_key(cursor) > _id_key(newest):
        raise BadRequest(
            f"event id {cursor} is after the newest event, {newest}: resume from an id this stream sent, "
            "or omit it for new events only (since=all replays everything held)"
        )
    first = info.get("first-entry")
    if not first or _id_key(str(first[0])) <= _id_key(cursor):
        return None  # the stream still holds what follows the cursor
    # Entries before the first one held were removed (trimmed by the cap, or deleted) if fewer are held than
    # were ever added; Valkey does not say which, so the entries right after the cursor may be among them.
    deleted = str(info.get("max-deleted-entry-id") or "0-0")
    if int(info.get("entries-added") or 0) > int(info.get("length") or 0) or _id_key(deleted) > _id_key(cursor):
        return Gap(since=cursor, first=str(first[0]))
    return None


class EventHub:
    """The one blocking reader of the events stream in this process; wakes every waiting client.

    It runs only while clients are connected, on its own small Valkey client (a cancelled blocking
    read then never poisons a connection the request handlers use).
    """

    def __init__(self, url: str, keys: list[str], *, timeout: float) -> None:
        self._url = url
        self._keys = keys
        self._timeout = timeout
        self._changed = asyncio.Event()  # replaced by a fresh one at every change: no lock to hold or lose
        self._idle = asyncio.Event()  # set while no client is connected
        self._idle.set()
        self._generation = 0
        self._clients = 0
        self._task: asyncio.Task[None] | None = None
        self._redis: Redis | None = None
        self._closing = False

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def closing(self) -> bool:
        """The app is shutting down: event streams end, so the server can finish their responses."""
        return self._closing

    async def wait(self, generation: int, seconds: float) -> None:
        """Return when new entries arrived after ``generation`` was read, at shutdown, or after ``seconds``."""
        changed = self._changed
        if self._generation != generation or self._closing:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await changed.wait()

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[None]:
        self._clients += 1
        self._idle.clear()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="mockx-event-hub")
        try:
            yield
        finally:
            self._clients -= 1
            if self._clients == 0:
                self._idle.set()

    async def close(self, grace: float = 2.0) -> None:
        """End every client's stream (waiting up to ``grace`` seconds for them to leave), then stop reading."""
        self._closing = True
        self._notify()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._idle.wait()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def _notify(self) -> None:
        self._generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _run(self) -> None:
        await retrying(self._follow, what="event hub", stop=self._idle, errors=UNAVAILABLE, max_delay=5.0)

    async def _follow(self) -> None:
        """Wake the clients at every new entry of any shard while any is connected; a lost Valkey ends it."""
        if self._redis is None:  # a cluster client when the server is one (each XREAD goes to its slot)
            timeout = max(self._timeout, _BLOCK_MS / 1000 + 1)
            self._redis = await connect(self._url, socket_timeout=timeout, max_connections=len(self._keys) + 1)
        await asyncio.gather(*(self._follow_one(self._redis, key) for key in self._keys))

    async def _follow_one(self, redis: Redis, key: str) -> None:
        cursor = await _latest_one(redis, key)
        self._notify()  # anything written while we were not reading
        while self._clients > 0:
            reply = await redis.xread({key: cursor}, count=_PAGE, block=_BLOCK_MS)
            if reply:
                cursor = reply[0][1][-1][0]
                self._notify()


async def read_events(
    redis: Redis, hub: EventHub, keys: list[str], cursor: str | None, flt: EventFilter, fee_rate: Decimal, idle: float
) -> AsyncIterator[Envelope | None]:
    """Events after ``cursor`` (None: only new ones) until the app shuts down; ``None`` after ``idle`` quiet seconds.

    With several shards, each shard's stream is read after its own position and the entries are merged by
    id: every shard's events keep their order, and each event's ``id`` is the cursor that resumes after it.
    """
    async with hub.client():
        if cursor is None:
            cursor = await latest_event_id(redis, keys)
        positions = split_cursor(cursor)
        while not hub.closing:
            generation = hub.generation
            pages = [
                await redis.xrange(key, min=f"({pos}", max="+", count=_PAGE)
                for key, pos in zip(keys, positions, strict=True)
            ]
            merged = sorted(
                (
                    (_id_key(entry_id), shard, entry_id, fields)
                    for shard, page in enumerate(pages)
                    for entry_id, fields in page
                )
            )
            for _, shard, entry_id, fields in merged:
                positions[shard] = entry_id
                envelope = _wanted(entry_id, fields, flt, fee_rate)
                if envelope is not None:
                    yield envelope if len(keys) == 1 else Envelope(join_cursor(positions), envelope.event)
            if any(len(page) == _PAGE for page in pages):
                continue
            if hub.generation == generation:
                await hub.wait(generation, idle)
                if hub.generation == generation and not hub.closing:
                    yield None


def _wanted(entry_id: str, fields: dict[str, str], flt: EventFilter, fee_rate: Decimal) -> Envelope | None:
    """The entry as an event, if the filter wants it."""
    etype = fields.get("type", "")
    if not flt.wants_type(etype):
        return None
    try:
        envelope = decode(entry_id, etype, fields.get("data", ""), fee_rate)
    except UnknownEvent:
        log.warning("skipping event %s of unknown type %r", entry_id, etype)
        return None
    event = envelope.event
    return envelope if flt.wants_account(event.account) and flt.wants_symbol(event.symbol) else None


async def latest_event_id(redis: Redis, keys: list[str]) -> str:
    """The newest event of every shard (``0-0`` for an empty stream): "from now on" as a cursor."""
    return join_cursor([await _latest_one(redis, key) for key in keys])


async def _latest_one(redis: Redis, key: str) -> str:
    last = await redis.xrevrange(key, count=1)
    return str(last[0][0]) if last else "0-0"
