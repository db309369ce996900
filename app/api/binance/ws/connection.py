"""Binance market stream connections: ``/ws/<stream>``, ``/stream?streams=a/b``, live ``SUBSCRIBE``.

Connection styles, as Binance serves them and clients use them: ``/ws/<stream>`` (raw payloads; any other
path segment, like ccxt.pro's ``/ws/0``, subscribes to nothing), ``/stream?streams=a/b`` and ``/stream``
(combined: ``{"stream", "data"}``), ``/stream/ws/...`` treated like ``/ws/...``. Control messages
``SUBSCRIBE``, ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``, ``SET_PROPERTY`` / ``GET_PROPERTY`` (``combined``)
are answered ``{"result", "id"}`` with the request's id as sent (number, string or null), after the
subscription took effect; a bad request gets ``{"error": {"code", "msg"}, "id"}`` with Binance's codes and
messages. A connection with more than ``EVENTS_QUEUE`` payloads waiting unread is closed with 1013.
Server pings and pong handling are the ASGI server's (every 20 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.api.binance.ws.names import parse
from app.api.binance.ws.outbox import Outbox
from app.api.binance.ws.streams import MarketStreams
from app.api.common.auth import PUBLIC

MAX_STREAMS = 1024  # per connection, as Binance
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_INT64 = 2**63
_STRING_ID = re.compile(r"[A-Za-z0-9_-]{0,36}")  # "alphanumeric, at most 36": a UUID, as Binance's own SDK sends
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder()


class RequestError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


class StreamConnection:
    """One client's market streams: its subscriptions, its bounded outbox, its control messages."""

    def __init__(self, socket: WebSocket[Any, Any, Any], streams: MarketStreams, combined: bool, queue: int) -> None:
        self.socket, self.streams = socket, streams
        self.combined = combined
        self.names: dict[str, None] = {}
        self.outbox = Outbox(socket, queue)

    def offer(self, raw: str, combined: str) -> bool:
        return self.outbox.put(combined if self.combined else raw)

    def fell_behind(self) -> None:
        self.outbox.fell_behind()

    async def run(self, initial: list[str]) -> None:
        await self._subscribe(initial)
        await self.socket.accept()
        writer = asyncio.create_task(self.outbox.write())
        try:
            reader = asyncio.create_task(self._read())
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, writer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await task
        finally:
            for name in list(self.names):
                self.streams.unsubscribe(self, name)

    async def _subscribe(self, names: list[str]) -> None:
        for name in names:
            if name not in self.names:
                stream = parse(name)
                self.names[name] = None
                if stream is not None:
                    await self.streams.subscribe(self, stream)

    async def _read(self) -> None:
        while True:
            text = await self.socket.receive_data(mode="text")
            try:
                request = _decode.decode(text)
            except msgspec.DecodeError as exc:
                self._reply({"error": {"code": 3, "msg": f"Invalid JSON: {exc}"}, "id": None})
                continue
            request_id = request.get("id") if isinstance(request, dict) else None
            try:
                if not isinstance(request, dict):
                    raise RequestError(2, "Invalid request: expected an object with method, params and id")
                if not _valid_id(request_id):
                    request_id = None
                    raise RequestError(2, "Invalid request: request ID must be an unsigned integer")
                self._reply({"result": await self._method(request), "id": request_id})
            except RequestError as exc:
                self._reply({"error": {"code": exc.code, "msg": exc.msg}, "id": request_id})

    def _reply(self, reply: dict[str, Any]) -> None:
        self.outbox.put(_encode(reply).decode())

    async def _method(self, request: dict[str, Any]) -> Any:
        method, params = request.get("method"), request.get("params", [])
        if method is None:
            raise RequestError(2, "Invalid request: missing field `method`")
        if method not in _METHODS:
            expected = ", ".join(f"`{m}`" for m in _METHODS)
            raise RequestError(2, f"Invalid request: unknown variant `{method}`, expected one of {expected}")
        if not isinstance(params, list):
            raise RequestError(2, "Invalid request: params must be an array")
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            names = _stream_names(params)
            if method == "SUBSCRIBE":
                if len(set(self.names) | set(names)) > MAX_STREAMS:
                    raise RequestError(2, f"Invalid request: a connection listens to at most {MAX_STREAMS} streams")
                await self._subscribe(names)
            else:
                for name in names:
                    if self.names.pop(name, 0) is None:
                        self.streams.unsubscribe(self, name)
            return None
        if method == "LIST_SUBSCRIPTIONS":
            return list(self.names)
        return self._property(method, params)

    def _property(self, method: str, params: list[Any]) -> Any:
        if not params or not isinstance(params[0], str):
            raise RequestError(2, "Invalid request: property name must be a string")
        if params[0] != "combined":
            raise RequestError(0, "Unknown property")
        if method == "GET_PROPERTY":
            if len(params) > 1:
                raise RequestError(2, "Invalid request: too many parameters")
            return self.combined
        if len(params) != 2:
            raise RequestError(2, "Invalid request: too many parameters" if len(params) > 2 else "Invalid request")
        if not isinstance(params[1], bool):
            raise RequestError(1, "Invalid value type: expected Boolean")
        self.combined = params[1]
        return None


def _valid_id(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    return isinstance(value, str) and _STRING_ID.fullmatch(value) is not None


def _stream_names(params: list[Any]) -> list[str]:
    if not all(isinstance(p, str) for p in params):
        raise RequestError(2, "Invalid request: every stream name must be a string")
    return list(dict.fromkeys(params))


async def _serve(socket: WebSocket[Any, Any, Any], combined: bool, initial: list[str]) -> None:
    state = socket.app.state
    connection = StreamConnection(socket, state.binance_streams, combined, state.exchange.settings.events_queue)
    with contextlib.suppress(WebSocketDisconnect):
        await connection.run(initial)


def _path_streams(path: str | None) -> list[str]:
    return [part for part in (path or "").split("/") if part]


@websocket(["/ws", "/ws/{path:path}", "/stream/ws", "/stream/ws/{path:path}"], opt=PUBLIC, include_in_schema=False)
async def raw_streams(socket: WebSocket[Any, Any, Any]) -> None:
    """Raw streams: the payloads as they are; the path names the first stream (or nothing, as ``/ws/0``)."""
    await _serve(socket, False, _path_streams(socket.path_params.get("path")))


@websocket("/stream", opt=PUBLIC, include_in_schema=False)
async def combined_streams(socket: WebSocket[Any, Any, Any]) -> None:
    """Combined streams: ``{"stream": <name>, "data": <payload>}``; ``streams=a/b`` subscribes at once."""
    await _serve(socket, True, _path_streams(socket.query_params.get("streams")))


HANDLERS = [raw_streams, combined_streams]
