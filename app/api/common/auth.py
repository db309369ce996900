"""API-key authentication: the ``x-api-key`` header, compared in constant time, on every route but one.

A route opts out with ``opt={"public": True}`` (only the liveness probe does). With ``TEST_ENV=true``
no guard is installed at all.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import WebSocket
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, WebSocketException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

HEADER = "x-api-key"
PUBLIC = {"public": True}
#: The close code of a WebSocket refused for its key (4000 + HTTP 401).
WS_CLOSE_UNAUTHORIZED = 4401


def api_key_guard(api_key: str) -> Guard:
    """A guard accepting only requests whose ``x-api-key`` header equals ``api_key``.

    It is a coroutine function on purpose: Litestar runs a plain function guard in a worker thread. It
    reads the raw ASGI headers (no header object is built on the hot path). An HTTP request is refused with
    Litestar's 401 exception (the ``AuthenticationError`` JSON error). A WebSocket is accepted and then
    closed with code 4401 and the reason: a socket closed before its handshake completes reaches the client
    only as a bare HTTP 403, which says nothing of the key.
    """
    expected = api_key.encode()
    name = HEADER.encode()

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get("public"):
            return
        given = next((value for key, value in connection.scope["headers"] if key.lower() == name), None)
        if given is None:
            await _refuse(connection, f"missing {HEADER} header: send the API key in it")
        elif not hmac.compare_digest(given, expected):
            await _refuse(connection, f"invalid {HEADER}: the API key does not match")

    return guard


async def _refuse(connection: ASGIConnection[Any, Any, Any, Any], reason: str) -> None:
    if isinstance(connection, WebSocket):
        await connection.accept()
        raise WebSocketException(detail=reason, code=WS_CLOSE_UNAUTHORIZED)
    raise NotAuthorizedException(reason)
