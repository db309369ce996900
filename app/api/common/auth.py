"""Who is calling: the ``x-api-key`` header resolved to an account (and whether it is the admin) per request.

The guard runs on every route but the liveness probe (``opt={"public": True}``). It compares the admin key
(``ADMIN_API_KEY``, or ``API_KEY`` when that is empty) in constant time, then asks the engine's account
registry, which compares the default account's key (``API_KEY``) in constant time and looks every other key
up, so a rotated or deleted key is refused on the very next request. The :class:`Caller` it finds is kept in
the connection's scope state; the dependencies of :mod:`app.api.common.deps` hand each handler the Exchange
view of that account. With ``TEST_ENV=true`` authentication is off: a request whose key names no account
(none, empty, unknown, or deleted) is the admin on the ``default`` account; an account's key still acts as
that account (and is not the admin).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, NoReturn

from litestar import WebSocket
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException, WebSocketException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard, Scope

from app.engine.accounts import AccountRef
from app.engine.exchange import Exchange
from app.settings import Settings

HEADER = "x-api-key"
PUBLIC = {"public": True}
_STATE_KEY = "mockx.caller"
_MAX_KEY_BYTES = 256  # longer than any key MockX issues: not worth a registry lookup
#: The close code of a WebSocket refused for its key (4000 + HTTP 401).
WS_CLOSE_UNAUTHORIZED = 4401


@dataclass(frozen=True, slots=True)
class Caller:
    """The account a request acts on, and whether its key is the admin key."""

    account: AccountRef
    admin: bool


ADMIN = Caller(AccountRef(), admin=True)


def admin_key(settings: Settings) -> str:
    """The key of the admin: ``ADMIN_API_KEY`` when set, else ``API_KEY``."""
    return settings.admin_api_key or settings.api_key


def caller_of(scope: Scope) -> Caller:
    """The caller :func:`account_guard` resolved for this connection (a 401 if it did not run)."""
    caller = scope.get("state", {}).get(_STATE_KEY)
    if not isinstance(caller, Caller):
        raise NotAuthorizedException(f"no caller was resolved: send the API key in the {HEADER} header")
    return caller


def account_guard(settings: Settings) -> Guard:
    """A guard that resolves the request's ``x-api-key`` to a :class:`Caller`, or refuses it with a 401.

    It is a coroutine function on purpose: Litestar runs a plain function guard in a worker thread. It
    reads the raw ASGI headers (no header object is built on the hot path). An HTTP request is refused with
    Litestar's 401 exception (the ``AuthenticationError`` JSON error). A WebSocket is accepted and then
    closed with code 4401 and the reason: a socket closed before its handshake completes reaches the client
    only as a bare HTTP 403, which says nothing of the key.
    """
    expected_admin = admin_key(settings).encode()
    separate_admin = expected_admin != settings.api_key.encode()
    name = HEADER.encode()
    longest = max(_MAX_KEY_BYTES, len(settings.api_key.encode()))  # keys from the settings count, whatever their length

    async def resolve(exchange: Exchange, given: bytes) -> Caller | None:
        if expected_admin and hmac.compare_digest(given, expected_admin):
            return ADMIN
        if len(given) > longest:
            return None
        ref = await exchange.accounts.resolve(given.decode("latin-1"))
        if ref is None:
            return None
        return Caller(ref, admin=ref == AccountRef() and not separate_admin)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if handler.opt.get("public"):
            return
        given = next((value for key, value in connection.scope["headers"] if key.lower() == name), b"")
        caller = await resolve(connection.app.state.exchange, given) if given else None
        if caller is None:
            if not settings.test_env:
                if not given:
                    await _refuse(connection, f"missing {HEADER} header: send the API key in it")
                await _refuse(connection, f"invalid {HEADER}: the API key does not match any account")
            caller = ADMIN  # TEST_ENV: authentication is off, whoever does not name an account is the admin
        connection.scope.setdefault("state", {})[_STATE_KEY] = caller

    return guard


async def _refuse(connection: ASGIConnection[Any, Any, Any, Any], reason: str) -> NoReturn:
    if isinstance(connection, WebSocket):
        await connection.accept()
        raise WebSocketException(detail=reason, code=WS_CLOSE_UNAUTHORIZED)
    raise NotAuthorizedException(reason)


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse (403) a caller whose key is not the admin key; runs after :func:`account_guard`."""
    if not caller_of(connection.scope).admin:
        raise PermissionDeniedException("this route needs the admin key; an account's own key cannot use it")
