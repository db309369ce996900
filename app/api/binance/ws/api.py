"""The Binance WebSocket API (``/ws-api/v3``): requests ``{"id", "method", "params"}`` on one connection.

Every method that has a REST twin is that REST call, made inside the process: the params become the query
string, sorted by key and written as received (numbers as their JSON text, booleans ``true`` / ``false``),
which is exactly what a WebSocket API signature covers — so signatures (HMAC and Ed25519), ``recvWindow``,
parameter checks, rate limits, faults, answers and errors are the REST dialect's own, with the same codes
and messages. The answer is ``{"id", "status", "result", "rateLimits"}`` or ``{"id", "status", "error":
{"code", "msg"}}``, the id echoed with its type.

User data: ``userDataStream.subscribe.signature`` (any connection, signed like a request) or
``userDataStream.subscribe`` after ``session.logon`` (Ed25519) subscribes the connection to an account's
events on the event hub; they arrive as ``{"subscriptionId": N, "event": {...}}`` (:mod:`.user`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import quote

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.api.binance.auth import Signer, check_time, signer_of, verify
from app.api.binance.errors import BinanceError
from app.api.binance.params import Params
from app.api.binance.ws import user
from app.api.binance.ws.outbox import Outbox
from app.api.common.auth import PUBLIC
from app.api.common.events import EventFilter, latest_event_id
from app.api.common.hub import EventHub
from app.engine.accounts import AccountRef
from app.engine.events import Envelope
from app.engine.exchange import Exchange

log = logging.getLogger(__name__)

V3 = "/api/v3"
#: WebSocket API method -> (HTTP method, REST path).
REST: dict[str, tuple[str, str]] = {
    "ping": ("GET", f"{V3}/ping"),
    "time": ("GET", f"{V3}/time"),
    "exchangeInfo": ("GET", f"{V3}/exchangeInfo"),
    "depth": ("GET", f"{V3}/depth"),
    "klines": ("GET", f"{V3}/klines"),
    "uiKlines": ("GET", f"{V3}/uiKlines"),
    "avgPrice": ("GET", f"{V3}/avgPrice"),
    "trades.recent": ("GET", f"{V3}/trades"),
    "trades.historical": ("GET", f"{V3}/historicalTrades"),
    "trades.aggregate": ("GET", f"{V3}/aggTrades"),
    "ticker": ("GET", f"{V3}/ticker"),
    "ticker.24hr": ("GET", f"{V3}/ticker/24hr"),
    "ticker.price": ("GET", f"{V3}/ticker/price"),
    "ticker.book": ("GET", f"{V3}/ticker/bookTicker"),
    "order.place": ("POST", f"{V3}/order"),
    "order.test": ("POST", f"{V3}/order/test"),
    "order.status": ("GET", f"{V3}/order"),
    "order.cancel": ("DELETE", f"{V3}/order"),
    "order.cancelReplace": ("POST", f"{V3}/order/cancelReplace"),
    "openOrders.status": ("GET", f"{V3}/openOrders"),
    "openOrders.cancelAll": ("DELETE", f"{V3}/openOrders"),
    "allOrders": ("GET", f"{V3}/allOrders"),
    "myTrades": ("GET", f"{V3}/myTrades"),
    "account.status": ("GET", f"{V3}/account"),
    "account.commission": ("GET", f"{V3}/account/commission"),
    "account.rateLimits.orders": ("GET", f"{V3}/rateLimit/order"),
    "orderList.place.oco": ("POST", f"{V3}/orderList/oco"),
    "orderList.status": ("GET", f"{V3}/orderList"),
    "orderList.cancel": ("DELETE", f"{V3}/orderList"),
    "allOrderLists": ("GET", f"{V3}/allOrderList"),
}
LOCAL = ("userDataStream.subscribe.signature", "userDataStream.subscribe", "userDataStream.unsubscribe",
         "session.logon", "session.status", "session.logout", "session.subscriptions")  # fmt: skip
_USER_EVENTS = ("order", "balance")
_WEIGHT = "x-mbx-used-weight-1m"
_WEIGHT_LIMIT = 6000


def _text(value: Any) -> str:
    """A param as the signature saw it: JSON text for numbers (kept as text), true/false, arrays as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"))


def signed_query(params: dict[str, Any]) -> str:
    """The params as a query string: sorted by key, ``signature`` last (percent-encoded: base64 has ``+``)."""
    body = "&".join(f"{k}={_text(v)}" for k, v in sorted(params.items()) if k != "signature")
    if "signature" in params:
        body += ("&" if body else "") + "signature=" + quote(_text(params["signature"]), safe="")
    return body


class ApiConnection:
    """One WebSocket API connection: its requests answered in order, its user data subscriptions."""

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self.socket = socket
        state = socket.app.state
        self.shared: Exchange = state.exchange
        self.hub: EventHub[Envelope] = state.hub
        self.session: AccountRef | None = None
        self.subscriptions: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._next = 0
        self.outbox = Outbox(socket, self.shared.settings.events_queue)

    async def run(self) -> None:
        await self.socket.accept()
        writer = asyncio.create_task(self.outbox.write())
        reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            tasks = [reader, writer, *(task for _, task in self.subscriptions.values())]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _send(self, message: dict[str, Any]) -> None:
        self.outbox.put(json.dumps(message, separators=(",", ":")))

    async def _read(self) -> None:
        while True:
            text = await self.socket.receive_data(mode="text")
            self._send(await self.answer(text))

    async def answer(self, text: str) -> dict[str, Any]:
        """The answer to one request (never raises for what the client sent)."""
        try:
            request = json.loads(text)
            raw = json.loads(text, parse_float=str, parse_int=str)  # numbers exactly as sent, for signatures
        except ValueError:
            return _error(None, BinanceError(-1135, "Invalid JSON Request"))
        if not isinstance(request, dict):
            return _error(None, BinanceError(-1135, "Invalid JSON Request"))
        request_id, method = request.get("id"), request.get("method")
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            return _error(
                request_id,
                BinanceError(-1102, "Mandatory parameter 'params' was not sent, was empty/null, or malformed."),
            )
        if not isinstance(method, str) or (method not in REST and method not in LOCAL):
            msg = (
                f"Invalid value '{method}' for parameter 'method'."
                if method
                else "Mandatory parameter 'method' was not sent, was empty/null, or malformed."
            )
            return _error(request_id, BinanceError(-1102, msg))
        try:
            if method in LOCAL:
                result = await self._local(method, params)
                return {"id": request_id, "status": 200, "result": result, "rateLimits": _limits("0")}
            return await self._rest(request_id, method, params)
        except BinanceError as exc:
            return _error(request_id, exc)

    async def _rest(self, request_id: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The REST twin of ``method``, called through the app itself, its answer in the WebSocket API shape."""
        if self.session is not None and "apiKey" not in params and "signature" not in params:
            return await self._rest_as(request_id, method, params, self.session)
        verb, path = REST[method]
        key = _text(params.get("apiKey", ""))
        status, headers, body = await self._call(verb, path, signed_query(params), key)
        return _wrap(request_id, status, headers, body, params.get("returnRateLimits") is not False)

    async def _rest_as(self, request_id: Any, method: str, params: dict[str, Any], ref: AccountRef) -> dict[str, Any]:
        """A request of a logged-on session: signed here with the account's secret (the logon proved the key)."""
        key, secret = await self._credentials(ref)
        query = {**params, "apiKey": key}
        query.setdefault("timestamp", str(_now()))
        query["signature"] = hmac.new(secret.encode(), signed_query(query).encode(), hashlib.sha256).hexdigest()
        verb, path = REST[method]
        status, headers, body = await self._call(verb, path, signed_query(query), key)
        return _wrap(request_id, status, headers, body, params.get("returnRateLimits") is not False)

    async def _credentials(self, ref: AccountRef) -> tuple[str, str]:
        settings = self.shared.settings
        if ref.name == AccountRef().name:
            return settings.api_key, settings.api_secret
        record = await self.shared.accounts.record(ref.name)
        if record is None:  # deleted since the logon
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        return record.key, record.secret

    async def _call(self, verb: str, path: str, query: str, key: str) -> tuple[int, dict[str, str], bytes]:
        """One request through the app's own ASGI stack (routing, middleware, auth, errors)."""
        headers = [(b"x-mbx-apikey", key.encode("latin-1"))] if key else []
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": verb, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode("latin-1"), "root_path": "",
            "headers": headers, "client": self.socket.scope.get("client"), "server": self.socket.scope.get("server"),
        }  # fmt: skip
        sent: dict[str, Any] = {"status": 500, "headers": {}, "body": b""}
        done = False

        async def receive() -> dict[str, Any]:
            nonlocal done
            if done:
                await asyncio.Event().wait()  # a disconnect never comes while the request runs
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                sent["body"] += message.get("body", b"")

        await self.socket.app(scope, receive, send)  # type: ignore[arg-type]
        return sent["status"], sent["headers"], sent["body"]

    async def _local(self, method: str, params: dict[str, Any]) -> Any:
        if method == "userDataStream.subscribe.signature":
            ref = await self._verified(params)
            return {"subscriptionId": await self._subscribe(ref)}
        if method == "session.logon":
            self.session = await self._verified(params, ed25519=True)
            return self._status()
        if method == "session.status":
            return self._status()
        if method == "session.logout":
            self.session = None
            return self._status()
        if method == "userDataStream.subscribe":
            if self.session is None:
                raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
            return {"subscriptionId": await self._subscribe(self.session)}
        if method == "session.subscriptions":
            return [{"subscriptionId": n} for n in self.subscriptions]
        return self._unsubscribe(params.get("subscriptionId"))

    async def _verified(self, params: dict[str, Any], *, ed25519: bool = False) -> AccountRef:
        """The account a signed ``userDataStream`` / ``session.logon`` request proves it holds."""
        key = _text(params.get("apiKey", ""))
        if not key:
            raise BinanceError(-2014, "API-key format invalid.", 401)
        signer: Signer | None = await signer_of(self.shared, key)
        if signer is None:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if ed25519 and signer.ed25519 is None:
            raise BinanceError(-4056, "HMAC_SHA256 API key is not supported.")
        query = Params(signed_query(params), "")
        check_time(query)
        verify(signer, query)
        return signer.account

    async def _subscribe(self, ref: AccountRef) -> int:
        for n, (name, _) in self.subscriptions.items():
            if name == ref.name:
                return n  # one subscription per account and connection
        n, self._next = self._next, self._next + 1
        keys = [k.events for k in self.shared.core.shard_keys]
        cursor = await latest_event_id(self.shared.redis, keys)  # from now on: nothing after the answer is lost
        task = asyncio.create_task(self._follow(n, ref, cursor))
        self.subscriptions[n] = (ref.name, task)
        return n

    def _unsubscribe(self, which: Any) -> dict[str, Any]:
        chosen = list(self.subscriptions) if which in (None, "") else [int(which)]
        for n in chosen:
            entry = self.subscriptions.pop(n, None)
            if entry is not None:
                entry[1].cancel()
        return {}

    def _status(self) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return {"apiKey": None if self.session is None else self.session.name, "authorizedSince": None,
                "connectedSince": now, "returnRateLimits": True, "serverTime": now,
                "userDataStream": bool(self.subscriptions)}  # fmt: skip

    async def _follow(self, n: int, ref: AccountRef, cursor: str) -> None:
        """The account's events as user data events, wrapped with the subscription id."""
        flt = EventFilter(types=_USER_EVENTS, account=ref.name)
        with contextlib.suppress(asyncio.CancelledError):
            async with self.hub.subscribe(cursor, flt) as sub:
                async for chunks in sub.batches(30.0):
                    now = int(time.time() * 1000)
                    for chunk in chunks or ():
                        for entry in chunk.entries:
                            for event in user.reports(entry.envelope.event, now):
                                self._send({"subscriptionId": n, "event": event})
            if sub.closed is not None:
                self._send({"subscriptionId": n, "event": {"e": "eventStreamTerminated", "E": _now()}})


def _now() -> int:
    return int(time.time() * 1000)


def _error(request_id: Any, exc: BinanceError) -> dict[str, Any]:
    return {"id": request_id, "status": exc.status, "error": {"code": exc.code, "msg": exc.msg}}


def _wrap(request_id: Any, status: int, headers: dict[str, str], body: bytes, rate_limits: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": request_id, "status": status}
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if status == 200:
        answer["result"] = payload
    elif isinstance(payload, dict) and "code" in payload:
        answer["error"] = {"code": payload["code"], "msg": payload.get("msg", "")}
    else:
        answer["error"] = {"code": -1000, "msg": "An unknown error occurred while processing the request."}
    if rate_limits:
        answer["rateLimits"] = _limits(headers.get(_WEIGHT, "0"))
    return answer


def _limits(weight: str) -> list[dict[str, Any]]:
    """The ``rateLimits`` of an answer: the request weight used this minute (the REST header's count)."""
    count = int(weight) if weight.isdigit() else 0
    return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": _WEIGHT_LIMIT,
             "count": count}]  # fmt: skip


@websocket("/ws-api/v3", opt=PUBLIC, include_in_schema=False)
async def ws_api(socket: WebSocket[Any, Any, Any]) -> None:
    """The WebSocket API: Binance's requests and answers, and user data subscriptions."""
    with contextlib.suppress(WebSocketDisconnect):
        await ApiConnection(socket).run()


HANDLERS = [ws_api]
