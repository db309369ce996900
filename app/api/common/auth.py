"""API-key authentication: the ``x-api-key`` header, compared in constant time, on every route but one.

A route opts out with ``opt={"public": True}`` (only the liveness probe does). With ``TEST_ENV=true``
no guard is installed at all.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

HEADER = "x-api-key"
PUBLIC = {"public": True}


def api_key_guard(api_key: str) -> Guard:
    """A guard accepting only requests whose ``x-api-key`` header equals ``api_key``.

    It is a coroutine function on purpose: Litestar runs a plain function guard in a worker thread. It
    reads the raw ASGI headers (no header object is built on the hot path). A refusal is Litestar's 401
    exception, so an HTTP request gets the ``AuthenticationError`` JSON error and a WebSocket is closed
    with code 4401.
    """
    expected = api_key.encode()
    name = HEADER.encode()

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get("public"):
            return
        given = next((value for key, value in connection.scope["headers"] if key.lower() == name), None)
        if given is None:
            raise NotAuthorizedException(f"missing {HEADER} header: send the API key in it")
        if not hmac.compare_digest(given, expected):
            raise NotAuthorizedException(f"invalid {HEADER}: the API key does not match")

    return guard
