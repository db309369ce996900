"""``GET /events`` (Server-Sent Events) and ``/events/ws`` (WebSocket): every event as it happens."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, WebSocket, get, websocket
from litestar.exceptions import PermissionDeniedException, WebSocketDisconnect
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from app.api.common.auth import Caller
from app.api.common.codec import encode_json
from app.api.common.deps import CallerDep, HubDep, SharedDep, on_behalf
from app.api.common.errors import UNAVAILABLE
from app.api.common.events import EVERY_ACCOUNT, EventFilter, EventHub, latest_event_id, parse_cursor, read_events
from app.api.native import ccxt
from app.api.native.errors import responses
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
ACCOUNT_DOC = "Admin key only: the events of this account instead of the default one, or * for every account"

Types = Annotated[str | None, QueryParameter(description=TYPES_DOC, max_length=1000)]
Symbol = Annotated[str | None, QueryParameter(description="Only events of this symbol", max_length=64)]
Since = Annotated[str | None, QueryParameter(description=SINCE_DOC, max_length=64)]
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
    exchange: Exchange, caller: Caller, account: str | None, types: str | None, symbol: str | None, cursor: str | None
) -> tuple[EventFilter, str | None]:
    """Validate a subscription up front, so bad input is a 400 (403, 404) before the stream starts."""
    audience = await _audience(exchange, caller, account)
    flt = EventFilter.parse(types, await exchange.symbol(symbol) if symbol else None, audience)
    return flt, parse_cursor(cursor)


class EventController(Controller):
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
        last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID", max_length=64)] = None,
    ) -> ServerSentEvent:
        """Server-Sent Events: ``id`` is the event id, ``event`` its type, ``data`` the JSON event.

        Reconnect with ``Last-Event-ID`` (browsers do it by themselves) to get exactly the events missed,
        as long as the capped events stream still holds them. A comment line every 15 s keeps proxies open.
        Only the caller's account's events and market data (``ticker.*``, ``market.*``) come through.
        """
        flt, cursor = await _subscription(shared, caller, account, types, symbol, last_event_id or since)
        if cursor is None:
            cursor = await latest_event_id(shared.redis, shared.keys.events)

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            # The opening message carries the starting point as its id, so a client that reconnects
            # before any event arrived still resumes from there (no gap).
            yield ServerSentEventMessage(comment="mockx events", id=cursor, retry=RETRY_MS, data=None)
            try:
                async for event in _events(shared, hub, flt, cursor):
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
        shared: SharedDep,
        caller: CallerDep,
        hub: HubDep,
        types: Types = None,
        symbol: Symbol = None,
        since: Since = None,
        account: Account = None,
    ) -> None:
        """The same events as ``GET /events``, one JSON text frame each; resume with ``since=<last id>``.

        A bad filter, id or account closes the socket with code 1008 and the reason; Valkey unreachable, 1011.
        """
        try:
            flt, cursor = await _subscription(shared, caller, account, types, symbol, since)
            if cursor is None:  # fixed before the handshake completes: nothing after it is missed
                cursor = await latest_event_id(shared.redis, shared.keys.events)
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
            async for event in _events(shared, hub, flt, cursor):
                if event is None:
                    await socket.send_json({"type": "keep-alive"})
                else:
                    await socket.send_data(encode_json(ccxt.event(event)).decode())
        except WebSocketDisconnect:
            return
        except UNAVAILABLE:
            await socket.close(code=1011, reason="Valkey is not available")


def _events(exchange: Exchange, hub: EventHub, flt: EventFilter, cursor: str | None) -> AsyncIterator[Envelope | None]:
    return read_events(
        exchange.redis, hub, exchange.keys.events, cursor, flt, exchange.fee_rate, idle=KEEPALIVE_SECONDS
    )
