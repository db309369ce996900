"""``GET /events`` (Server-Sent Events) and ``/events/ws`` (WebSocket): every event as it happens."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.api.common.codec import encode_json
from app.api.common.deps import ExchangeDep, HubDep
from app.api.common.errors import UNAVAILABLE
from app.api.common.events import (
    EventFilter,
    EventHub,
    Gap,
    check_cursor,
    latest_event_id,
    parse_cursor,
    read_events,
)
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
SINCE_DOC = "Replay from after this event id (or 'all' for everything the stream holds); Last-Event-ID wins"

Types = Annotated[str | None, QueryParameter(description=TYPES_DOC, max_length=1000)]
Symbol = Annotated[str | None, QueryParameter(description="Only events of this symbol", max_length=64)]
Since = Annotated[str | None, QueryParameter(description=SINCE_DOC, max_length=64)]


async def _subscription(
    exchange: Exchange, types: str | None, symbol: str | None, since: str | None
) -> tuple[EventFilter, str, Gap | None]:
    """Validate a subscription up front, so bad input is a 400 before the stream starts.

    Returns the filter, the cursor to read after (no ``since``: the newest event, so only new ones follow)
    and the gap, if events after ``since`` were trimmed from the capped stream.
    """
    flt = EventFilter.parse(types, await exchange.symbol(symbol) if symbol else None)
    cursor = parse_cursor(since)
    if cursor is None:
        return flt, await latest_event_id(exchange.redis, exchange.keys.events), None
    return flt, cursor, await check_cursor(exchange.redis, exchange.keys.events, cursor)


class GapNotice(msgspec.Struct, frozen=True):
    """The first message of a stream whose cursor is older than what the capped stream still holds."""

    type: str
    since: str
    first: str
    message: str


def _gap(gap: Gap) -> str:
    return encode_json(GapNotice("gap", gap.since, gap.first, gap.message())).decode()


class EventController(NativeController):
    path = "/events"
    tags = ("Events",)

    @get("/", responses=responses())
    async def stream(
        self,
        exchange: ExchangeDep,
        hub: HubDep,
        types: Types = None,
        symbol: Symbol = None,
        since: Since = None,
        last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID", max_length=64)] = None,
    ) -> ServerSentEvent:
        """Server-Sent Events: ``id`` is the event id, ``event`` its type, ``data`` the JSON event.

        Reconnect with ``Last-Event-ID`` (browsers do it by themselves) to get exactly the events missed,
        as long as the capped events stream still holds them; if it no longer does, the first event is a
        ``gap`` (``since``, ``first``: the oldest id still held). An id after the newest event is a 400. A
        comment line every 15 s keeps proxies open.
        """
        flt, cursor, gap = await _subscription(exchange, types, symbol, last_event_id or since)

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            # The opening message carries the starting point as its id, so a client that reconnects
            # before any event arrived still resumes from there (no gap).
            yield ServerSentEventMessage(comment="mockx events", id=cursor, retry=RETRY_MS, data=None)
            if gap is not None:
                yield ServerSentEventMessage(data=_gap(gap), event="gap")
            try:
                async for event in _events(exchange, hub, flt, cursor):
                    if event is None:
                        yield ServerSentEventMessage(comment="keep-alive", data=None)
                    else:
                        data = encode_json(ccxt.event(event)).decode()
                        yield ServerSentEventMessage(data=data, event=event.type, id=event.id)
            except UNAVAILABLE as exc:
                log.warning("closing an event stream: Valkey is not available (%s)", exc)

        return ServerSentEvent(messages(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @websocket("/ws")
    async def stream_ws(
        self,
        socket: WebSocket[Any, Any, Any],
        exchange: ExchangeDep,
        hub: HubDep,
        types: Types = None,
        symbol: Symbol = None,
        since: Since = None,
    ) -> None:
        """The same events as ``GET /events``, one JSON text frame each; resume with ``since=<last id>``.

        A bad filter or id (also one after the newest event) closes the socket with code 1008 and the
        reason; Valkey unreachable, 1011. A cursor older than the capped stream holds gets a first ``gap``
        frame, as on ``GET /events``.
        """
        try:  # the cursor is fixed before the handshake completes: nothing after it is missed
            flt, cursor, gap = await _subscription(exchange, types, symbol, since)
        except ExchangeError as exc:
            await socket.accept()
            await socket.close(code=1008, reason=exc.message[:120])
            return
        except UNAVAILABLE:
            await socket.accept()
            await socket.close(code=1011, reason="Valkey is not available")
            return
        await socket.accept()
        try:
            if gap is not None:
                await socket.send_data(_gap(gap))
            async for event in _events(exchange, hub, flt, cursor):
                if event is None:
                    await socket.send_json({"type": "keep-alive"})
                else:
                    await socket.send_data(encode_json(ccxt.event(event)).decode())
        except WebSocketDisconnect:
            return
        except UNAVAILABLE:
            await socket.close(code=1011, reason="Valkey is not available")


def _events(exchange: Exchange, hub: EventHub, flt: EventFilter, cursor: str) -> AsyncIterator[Envelope | None]:
    return read_events(
        exchange.redis, hub, exchange.keys.events, cursor, flt, exchange.fee_rate, idle=KEEPALIVE_SECONDS
    )
