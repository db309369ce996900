"""Live events over HTTP: Server-Sent Events and a WebSocket twin, both served from the capped events stream.

Every state change is an entry of ``{ns}:events`` (the entry id is the event id). A client reads the
stream from its own cursor with ``XRANGE`` (non-blocking, so a client holds no Valkey connection while it
waits); one :class:`EventHub` per process does the only blocking ``XREAD`` and wakes the clients when
new entries arrive. A client that reconnects with ``Last-Event-ID`` continues from that id, so it misses
nothing the stream still holds and sees nothing twice.

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

from app.api.common.errors import UNAVAILABLE
from app.engine.accounts import DEFAULT
from app.engine.errors import BadRequest
from app.engine.events import EVENT_GROUPS, EVENT_TYPES, Envelope, UnknownEvent, decode
from app.store.retry import retrying
from app.store.transport import connect

log = logging.getLogger(__name__)

_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
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
                raise BadRequest(
                    f"types: {part!r} is not an event type; use a type ({', '.join(EVENT_TYPES)}), "
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


def parse_cursor(raw: str | None) -> str | None:
    """A client's resume point: an event id (``1700000000000-0``), ``all`` / ``0`` for everything, or None."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if text.lower() == "all":
        return "0-0"
    ms, _, seq = text.partition("-")
    if not _ID.match(text) or int(ms) > _U64 or int(seq or 0) > _U64:
        raise BadRequest(f"{text!r} is not an event id: use the id of the last event seen, like 1700000000000-0")
    return text if "-" in text else f"{text}-0"


class EventHub:
    """The one blocking reader of the events stream in this process; wakes every waiting client.

    It runs only while clients are connected, on its own small Valkey client (a cancelled blocking
    read then never poisons a connection the request handlers use).
    """

    def __init__(self, url: str, key: str, *, timeout: float) -> None:
        self._url = url
        self._key = key
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
        """Wake the clients at every new entry while any is connected; a lost Valkey ends it (retried)."""
        if self._redis is None:  # a cluster client when the server is one (XREAD goes to its slot)
            timeout = max(self._timeout, _BLOCK_MS / 1000 + 1)
            self._redis = await connect(self._url, socket_timeout=timeout, max_connections=2)
        cursor = await latest_event_id(self._redis, self._key)
        self._notify()  # anything written while we were not reading
        while self._clients > 0:
            reply = await self._redis.xread({self._key: cursor}, count=_PAGE, block=_BLOCK_MS)
            if reply:
                cursor = reply[0][1][-1][0]
                self._notify()


async def read_events(
    redis: Redis, hub: EventHub, key: str, cursor: str | None, flt: EventFilter, fee_rate: Decimal, idle: float
) -> AsyncIterator[Envelope | None]:
    """Events after ``cursor`` (None: only new ones) until the app shuts down; ``None`` after ``idle`` quiet seconds."""
    async with hub.client():
        if cursor is None:
            cursor = await latest_event_id(redis, key)
        while not hub.closing:
            generation = hub.generation
            entries = await redis.xrange(key, min=f"({cursor}", max="+", count=_PAGE)
            for entry_id, fields in entries:
                cursor = entry_id
                etype = fields.get("type", "")
                if not flt.wants_type(etype):
                    continue
                try:
                    envelope = decode(entry_id, etype, fields.get("data", ""), fee_rate)
                except UnknownEvent:
                    log.warning("skipping event %s of unknown type %r", entry_id, etype)
                    continue
                event = envelope.event
                if flt.wants_account(event.account) and flt.wants_symbol(event.symbol):
                    yield envelope
            if len(entries) == _PAGE:
                continue
            if hub.generation == generation:
                await hub.wait(generation, idle)
                if hub.generation == generation and not hub.closing:
                    yield None


async def latest_event_id(redis: Redis, key: str) -> str:
    """The id of the newest event in the stream (``0-0`` when it is empty): "from now on" as a cursor."""
    last = await redis.xrevrange(key, count=1)
    return str(last[0][0]) if last else "0-0"
