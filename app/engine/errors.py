"""Domain errors: a code from one enum and a sentence, nothing of any wire dialect.

Each dialect owns its map from :class:`ErrorCode` to its own error shape (the native API: a ccxt
exception name and an HTTP status, see :mod:`app.api.native.errors`). The subclasses are shorthands
that fix the code, so engine code reads ``raise InsufficientFunds("...")`` and callers may catch a
whole family (``except InvalidOrder``) as ccxt users are used to.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why the engine refused or failed a call."""

    BAD_REQUEST = "bad_request"  # malformed or out-of-range input
    BAD_SYMBOL = "bad_symbol"  # no such market, or no price yet for a ticker
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID_ORDER = "invalid_order"  # well-formed, but not acceptable for this market or price
    ORDER_NOT_FOUND = "order_not_found"  # unknown id, or not in the state the call needs
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    ORDER_IMMEDIATELY_FILLABLE = "order_immediately_fillable"  # a post-only order that would take; a stop reached
    ACCOUNT_NOT_FOUND = "account_not_found"
    ACCOUNT_EXISTS = "account_exists"
    NOT_AUTHENTICATED = "not_authenticated"
    UNAVAILABLE = "unavailable"  # the store cannot be reached right now
    INTERNAL = "internal"  # the engine failed; not the caller's doing


class ExchangeError(Exception):
    """Base of every error a caller of the engine can cause or observe."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(ExchangeError):
    code = ErrorCode.BAD_REQUEST


class BadSymbol(BadRequest):
    code = ErrorCode.BAD_SYMBOL


class InsufficientFunds(ExchangeError):
    code = ErrorCode.INSUFFICIENT_FUNDS


class InvalidOrder(ExchangeError):
    code = ErrorCode.INVALID_ORDER


class OrderNotFound(InvalidOrder):
    code = ErrorCode.ORDER_NOT_FOUND


class DuplicateOrderId(InvalidOrder):
    code = ErrorCode.DUPLICATE_ORDER_ID


class OrderImmediatelyFillable(InvalidOrder):
    code = ErrorCode.ORDER_IMMEDIATELY_FILLABLE


class AccountNotFound(ExchangeError):
    code = ErrorCode.ACCOUNT_NOT_FOUND


class AccountExists(ExchangeError):
    code = ErrorCode.ACCOUNT_EXISTS


class AuthenticationError(ExchangeError):
    code = ErrorCode.NOT_AUTHENTICATED


class ExchangeNotAvailable(ExchangeError):
    code = ErrorCode.UNAVAILABLE
