"""Domain errors, named after ccxt's exception classes, and the return codes of the Lua scripts.

Each error carries the ccxt exception name as ``code`` and the HTTP status the API answers with, so a
client sees the same class a ccxt bot would raise against a real exchange.
"""

from __future__ import annotations

from enum import IntEnum


class ExchangeError(Exception):
    """Base of every error a caller of :class:`app.engine.exchange.Exchange` can cause or observe."""

    code = "ExchangeError"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ExchangeError):
    code = "BadRequest"


class BadSymbol(BadRequest):
    code = "BadSymbol"


class InsufficientFunds(ExchangeError):
    code = "InsufficientFunds"


class InvalidOrder(ExchangeError):
    code = "InvalidOrder"


class OrderNotFound(InvalidOrder):
    code = "OrderNotFound"
    status = 404


class DuplicateOrderId(InvalidOrder):
    code = "DuplicateOrderId"
    status = 409


class OrderImmediatelyFillable(InvalidOrder):
    code = "OrderImmediatelyFillable"


class AuthenticationError(ExchangeError):
    code = "AuthenticationError"
    status = 401


class ExchangeNotAvailable(ExchangeError):
    code = "ExchangeNotAvailable"
    status = 503


class Code(IntEnum):
    """Return codes shared by every Lua script (``app/store/lua/*.lua``); each script lists the ones it returns."""

    OK = 0
    INSUFFICIENT_FUNDS = 1
    DUPLICATE_CLIENT_ID = 2
    PRICE_MOVED = 3
    BALANCE_LIMIT = 4
    NOT_FOUND = 5
    NOT_OPEN = 6
