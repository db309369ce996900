"""What an event subscription is made of: its filter, its cursor, and the checks made before a stream starts.

Every state change is an entry of a shard's ``{ns}:events`` stream (the entry id is the event id). A
client names where it resumes with a cursor (``since`` / ``Last-Event-ID``): with several shards, one
position per shard joined by ``,``. :func:`check_cursor` refuses an id the stream never issued (after its
newest) and tells when events after the id were trimmed away (a *gap*). The reading itself, and the
fan-out to every subscriber of the process, is the event hub's (:mod:`app.api.common.hub`). A client sees
only its own account's events and market data (:class:`EventFilter`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from app.engine.accounts import DEFAULT
from app.engine.errors import BadRequest
from app.engine.events import EVENT_GROUPS, EVENT_TYPES

_ID = re.compile(r"[0-9]{1,20}(?:-[0-9]{1,20})?")  # ASCII digits only (\d matches "١٢٣" too), in full
_U64 = 2**64 - 1  # each half of a stream id is an unsigned 64-bit integer


#: An :class:`EventFilter` ``account`` that takes the events of every account (the admin's ``account=*``).
EVERY_ACCOUNT = "*"


class Located(Protocol):
    """What a filter reads of an event: the account it concerns (None: market data) and its symbol."""

    @property
    def account(self) -> str | None: ...

    @property
    def symbol(self) -> str | None: ...


class Enveloped(Protocol):
    """What the hub carries: an event with its id (account events, or market data: any tagged union)."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def event(self) -> Located: ...


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

    @property
    def everything(self) -> bool:
        """Whether every event passes."""
        return not self.types and self.symbol is None and self.account == EVERY_ACCOUNT

    def wants(self, envelope: Enveloped) -> bool:
        """Whether the event passes every part of the filter."""
        event = envelope.event
        return self.wants_type(envelope.type) and self.wants_account(event.account) and self.wants_symbol(event.symbol)


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


def id_key(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a comparable pair."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def wider(positions: list[str], other: list[str]) -> list[str]:
    """Per shard, the later of two positions."""
    return [a if id_key(a) >= id_key(b) else b for a, b in zip(positions, other, strict=True)]


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
    if id_key(cursor) > id_key(newest):
        raise BadRequest(
            f"event id {cursor} is after the newest event, {newest}: resume from an id this stream sent, "
            "or omit it for new events only (since=all replays everything held)"
        )
    first = info.get("first-entry")
    if not first or id_key(str(first[0])) <= id_key(cursor):
        return None  # the stream still holds what follows the cursor
    # Entries before the first one held were removed (trimmed by the cap, or deleted) if fewer are held than
    # were ever added; Valkey does not say which, so the entries right after the cursor may be among them.
    deleted = str(info.get("max-deleted-entry-id") or "0-0")
    if int(info.get("entries-added") or 0) > int(info.get("length") or 0) or id_key(deleted) > id_key(cursor):
        return Gap(since=cursor, first=str(first[0]))
    return None


async def latest_event_id(redis: Redis, keys: list[str]) -> str:
    """The newest event of every shard (``0-0`` for an empty stream): "from now on" as a cursor."""
    return join_cursor([await _latest_one(redis, key) for key in keys])


async def _latest_one(redis: Redis, key: str) -> str:
    last = await redis.xrevrange(key, count=1)
    return str(last[0][0]) if last else "0-0"
