"""``GET /events`` (Server-Sent Events) and ``/events/ws`` (WebSocket): every event as it happens.

Both are subscriptions to the process's event hub (:mod:`app.api.common.hub`). The native dialect's wire
formats are registered with it once: :data:`NATIVE` (the ccxt-shaped JSON), :data:`NATIVE_TEXT` (the same
as text, for WebSocket frames) and :data:`NATIVE_SSE` (a whole SSE message), so an event is encoded once
per format, whatever the number of subscribers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import WebSocket, get, websocket
from litestar.exceptions import PermissionDeniedException, WebSocketDisconnect
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.api.common.auth import Caller
from app.api.common.codec import encode_json
from app.api.common.deps import CallerDep, HubDep, SharedDep, on_behalf
from app.api.common.errors import UNAVAILABLE
from app.api.common.events import EVERY_ACCOUNT, EventFilter, Gap, check_cursor, latest_event_id, parse_cursor
from app.api.common.hub import SHUTDOWN, Closed, HubEntry, WireFormat
from app.api.native import ccxt
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.engine.errors import ExchangeError
from app.engine.events import EVENT_TYPES, Envelope
from app.engine.exchange import Exchange

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000
TYPES_DOC = (
    "Comma-separated event types: exact (order.filled), a group (order) or a prefix (order.*). "
    f"Types: {', '.join(EVENT_TYPES)}"
)
CURSOR_MAX = 64 * 42  # one id per shard, joined by ","
SINCE_DOC = "Replay from after this event id (or 'all' for everything the stream holds); Last-Event-ID wins"

Types = Annotated[str | None, QueryParameter(description=TYPES_DOC, max_length=1000)]
Symbol = Annotated[str | None, QueryParameter(description="Only events of this symbol", max_length=64)]
Since = Annotated[str | None, QueryParameter(description=SINCE_DOC, max_length=CURSOR_MAX)]
ACCOUNT_DOC = "Admin key only: the events of this account instead of the default one, or * for every account"
Account = Annotated[str | None, QueryParameter(description=ACCOUNT_DOC, min_length=1, max_length=64)]


async def _audience(exchange: Exchange, caller: Caller, account: str | None) -> str:
    """Whose events the client gets: its own account's; the admin's ``account=<name>`` or ``*`` (every one)."""
    on_behalf(caller, account)
    if account is None or account == caller.account.name:
        return caller.account.name
    if account == EVERY_ACCOUNT:
        return EVERY_ACCOUNT
    return (await exchange.accounts.ref(account)).name  # 404 for an account that does not exist


async def _subscription(
    exchange: Exchange, caller: Caller, account: str | None, types: str | None, symbol: str | None, since: str | None
) -> tuple[EventFilter, str, Gap | None]:
    """Validate a subscription up front, so bad input is a 400 (403, 404) before the stream starts.

    Returns the filter, the cursor to read after (no ``since``: the newest event, so only new ones follow)
    and the gap, if events after ``since`` were trimmed from the capped stream.
    """
    audience = await _audience(exchange, caller, account)
    flt = EventFilter.parse(types, await exchange.symbol(symbol) if symbol else None, audience)
    streams = _streams(exchange)
    cursor = parse_cursor(since, len(streams))
    if cursor is None:
        return flt, await latest_event_id(exchange.redis, streams), None
    return flt, cursor, await check_cursor(exchange.redis, streams, cursor)


def _streams(exchange: Exchange) -> list[str]:
    """The events stream of every shard, in shard order (a cursor holds one position in each)."""
    return [keys.events for keys in exchange.core.shard_keys]


class GapNotice(msgspec.Struct, frozen=True):
    """The first message of a stream whose cursor is older than what the capped stream still holds."""

    type: str
    since: str
    first: str
    message: str


def _gap(gap: Gap) -> str:
    return encode_json(GapNotice("gap", gap.since, gap.first, gap.message())).decode()


def _sse(entry: HubEntry[Envelope]) -> bytes:
    """One SSE message: ``id`` (the cursor that resumes after it), ``event`` (its type), ``data`` (JSON)."""
    head = f"id: {entry.id}\r\nevent: {entry.envelope.type}\r\ndata: ".encode()
    return head + entry.wire(NATIVE) + b"\r\n\r\n"


#: The ccxt-shaped JSON of an event (:func:`app.api.native.ccxt.event`).
NATIVE: WireFormat[bytes] = WireFormat("native", lambda entry: encode_json(ccxt.event(entry.envelope)))
NATIVE_TEXT: WireFormat[str] = WireFormat("native.text", lambda entry: entry.wire(NATIVE).decode())
NATIVE_SSE: WireFormat[bytes] = WireFormat("native.sse", _sse)


@dataclass
class _Encoded(ServerSentEventMessage):
    """SSE messages already on their wire form (the hub's shared encodings), written as they are."""

    raw: bytes = b""

    def encode(self) -> bytes:
        return self.raw


def _closed(closed: Closed) -> str:
    return encode_json(closed).decode()


class EventController(NativeController):
    path = "/events"
    tags = ("Events",)

    @get("/", responses=responses())
    async def stream(
        self,
        shared: SharedDep,
        caller: CallerDep,
        hub: HubDep,
        types: Types = None,
        symbol: Symbol = None,
        since: Since = None,
        account: Account = None,
        last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID", max_length=CURSOR_MAX)] = None,
    ) -> ServerSentEvent:
        """Server-Sent Events: ``id`` is the event id, ``event`` its type, ``data`` the JSON event.

        Reconnect with ``Last-Event-ID`` (browsers do it by themselves) to get exactly the events missed,
        as long as the capped events stream still holds them; if it no longer does, the first event is a
        ``gap`` (``since``, ``first``: the oldest id still held). An id after the newest event is a 400. A
        comment line every 15 s keeps proxies open. Only the caller's account's events and market data
        (``ticker.*``, ``market.*``) come through.

        A client that falls more than ``EVENTS_QUEUE`` events behind (or is connected at shutdown) gets a last
        message ``event: closed`` with ``{"type": "closed", "reason", "lastId"}`` and the response ends:
        reconnect with ``lastId`` as ``Last-Event-ID`` to resume right after the last event it received.
        """
        flt, cursor, gap = await _subscription(shared, caller, account, types, symbol, last_event_id or since)

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            # The opening message carries the starting point as its id, so a client that reconnects
            # before any event arrived still resumes from there (no gap).
            yield ServerSentEventMessage(comment="mockx events", id=cursor, retry=RETRY_MS, data=None)
            if gap is not None:
                yield ServerSentEventMessage(data=_gap(gap), event="gap")
            try:
                async with hub.subscribe(cursor, flt) as sub:
                    async for batch in sub.batches(KEEPALIVE_SECONDS):
                        if batch is None:
                            yield ServerSentEventMessage(comment="keep-alive", data=None)
                        else:
                            yield _Encoded(raw=b"".join([chunk.joined(NATIVE_SSE) for chunk in batch]))
                    if sub.closed is not None:
                        yield ServerSentEventMessage(data=_closed(sub.closed), event="closed")
            except UNAVAILABLE as exc:
                log.warning("closing an event stream: Valkey is not available (%s)", exc)

        return ServerSentEvent(messages(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @websocket("/ws")
    async def stream_ws(
        self,
        socket: WebSocket[Any, Any, Any],
        shared: SharedDep,
        caller: CallerDep,
        hub: HubDep,
        types: Types = None,
        symbol: Symbol = None,
        since: Since = None,
        account: Account = None,
    ) -> None:
        """The same events as ``GET /events``, one JSON text frame each; resume with ``since=<last id>``.

        A bad filter, account or id (also one after the newest event) closes the socket with code 1008 and the
        reason; Valkey unreachable, 1011. A cursor older than the capped stream holds gets a first ``gap``
        frame, as on ``GET /events``. A client more than ``EVENTS_QUEUE`` events behind gets a last frame
        ``{"type": "closed", "reason", "lastId"}`` and the socket closes with 1013 (1001 at shutdown): resume
        with ``since=<lastId>``.
        """
        try:  # the cursor is fixed before the handshake completes: nothing after it is missed
            flt, cursor, gap = await _subscription(shared, caller, account, types, symbol, since)
        except (ExchangeError, PermissionDeniedException) as exc:
            await socket.accept()
            reason = exc.message if isinstance(exc, ExchangeError) else exc.detail
            await socket.close(code=1008, reason=reason[:120])
            return
        except UNAVAILABLE:
            await socket.accept()
            await socket.close(code=1011, reason="Valkey is not available")
            return
        await socket.accept()
        try:
            if gap is not None:
                await socket.send_data(_gap(gap))
            async with hub.subscribe(cursor, flt) as sub:
                async for batch in sub.batches(KEEPALIVE_SECONDS):
                    if batch is None:
                        await socket.send_json({"type": "keep-alive"})
                    else:
                        for chunk in batch:
                            for entry in chunk.entries:
                                await socket.send_data(entry.wire(NATIVE_TEXT))
            if sub.closed is not None:
                await socket.send_data(_closed(sub.closed))
                going_away = sub.closed.reason == SHUTDOWN
                await socket.close(code=1001 if going_away else 1013, reason=sub.closed.reason.split(";")[0][:120])
        except WebSocketDisconnect:
            return
        except UNAVAILABLE:
            await socket.close(code=1011, reason="Valkey is not available")
