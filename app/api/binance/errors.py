"""The Binance dialect's errors: every failure as ``{"code": -NNNN, "msg": "<Binance's exact text>"}``.

Binance's clients (and ccxt on a host other than api.binance.com) pick their exception by the code and, for
-2010 and -1013, by the exact message, so the texts here are Binance's (``errors.md`` of the public
``binance-spot-api-docs``). A domain error (:mod:`app.engine.errors`) is mapped by its code in
:func:`on_exchange_error`; what the dialect itself refuses (parameters, signatures, filters) is raised as a
:class:`BinanceError` with the code, the message and the HTTP status Binance answers with. Nothing a client
can cause is a 500; an unexpected failure is ``-1000`` with HTTP 500 and is logged.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from app.api.common.codec import ExactResponse
from app.api.common.errors import UNAVAILABLE
from app.engine.errors import ErrorCode, ExchangeError

log = logging.getLogger(__name__)

#: Binance's message texts that clients match on.
INSUFFICIENT = "Account has insufficient balance for requested action."
WOULD_TAKE = "Order would immediately match and take."
WOULD_TRIGGER = "Stop price would trigger immediately."
UNKNOWN_ORDER = "Unknown order sent."
NO_SUCH_ORDER = "Order does not exist."
DUPLICATE_ORDER = "Duplicate order sent."
UNSUPPORTED_COMBINATION = "Unsupported order combination."
BAD_SYMBOL = "Invalid symbol."
INVALID_SIGNATURE = "Signature for this request is not valid."
KEY_FORMAT = "API-key format invalid."
KEY_REJECTED = "Invalid API-key, IP, or permissions for action."
OUTSIDE_WINDOW = "Timestamp for this request is outside of the recvWindow."
AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
UNKNOWN = "An unknown error occurred while processing the request."
LEGAL_NUMBER = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"


class BinanceError(Exception):
    """A refusal in Binance's words: the code, the exact message and the HTTP status (400 unless said)."""

    def __init__(self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status, self.headers = code, msg, status, headers or {}
        self.data: Any = None  # cancel-replace failures carry what happened to each half


def mandatory(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def illegal(name: str, legal: str = LEGAL_NUMBER) -> BinanceError:
    return BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def filter_failure(name: str) -> BinanceError:
    return BinanceError(-1013, f"Filter failure: {name}")


def rejected(msg: str) -> BinanceError:
    return BinanceError(-2010, msg)


class ErrorBody(msgspec.Struct, frozen=True):
    code: int
    msg: str


def error_response(code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None) -> Response[Any]:
    return ExactResponse(ErrorBody(code, msg), status_code=status, headers=headers, media_type="application/json")


def on_binance_error(_: Request[Any, Any, Any], exc: BinanceError) -> Response[Any]:
    if exc.data is not None:
        body = {"code": exc.code, "msg": exc.msg, "data": exc.data}
        return ExactResponse(body, status_code=exc.status, headers=exc.headers, media_type="application/json")
    return error_response(exc.code, exc.msg, exc.status, exc.headers)


#: A domain error code as Binance's code and message; None: the engine's own sentence is the message.
_DOMAIN: dict[ErrorCode, tuple[int, str | None, int]] = {
    ErrorCode.BAD_REQUEST: (-1102, None, 400),
    ErrorCode.BAD_SYMBOL: (-1121, BAD_SYMBOL, 400),
    ErrorCode.INSUFFICIENT_FUNDS: (-2010, INSUFFICIENT, 400),
    ErrorCode.INVALID_ORDER: (-1013, None, 400),
    ErrorCode.ORDER_NOT_FOUND: (-2013, NO_SUCH_ORDER, 400),
    ErrorCode.DUPLICATE_ORDER_ID: (-2010, DUPLICATE_ORDER, 400),
    ErrorCode.ORDER_IMMEDIATELY_FILLABLE: (-2010, WOULD_TAKE, 400),
    ErrorCode.ACCOUNT_NOT_FOUND: (-2015, KEY_REJECTED, 401),
    ErrorCode.ACCOUNT_EXISTS: (-1130, None, 400),
    ErrorCode.NOT_AUTHENTICATED: (-2015, KEY_REJECTED, 401),
    ErrorCode.UNAVAILABLE: (-1001, "Internal error; unable to process your request. Please try again.", 503),
    ErrorCode.INTERNAL: (-1000, UNKNOWN, 500),
}


def domain_error(exc: ExchangeError) -> BinanceError:
    """A domain error in Binance's words."""
    code, msg, status = _DOMAIN[exc.code]
    return BinanceError(code, msg or exc.message, status)


def on_exchange_error(request: Request[Any, Any, Any], exc: ExchangeError) -> Response[Any]:
    error = domain_error(exc)
    if error.status >= 500:
        log.error("engine error on %s %s: %s", request.method, request.url.path, exc.message)
    return error_response(error.code, error.msg, error.status)


def on_validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return error_response(-1130, "Invalid data sent for a parameter.")


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status == 404:
        return error_response(-1020, "This operation is not supported.", 404)
    if status == 405:
        return error_response(-1020, "This operation is not supported.", 405)
    if status >= 500:
        if "disconnected" not in (exc.detail or ""):
            log.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
        return error_response(-1000, UNKNOWN, status)
    return error_response(-1130, "Invalid data sent for a parameter.", status)


def on_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("Valkey is not available (%s %s): %s", request.method, request.url.path, exc)
    return error_response(-1001, "Internal error; unable to process your request. Please try again.", 503)


def on_bug(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(-1000, UNKNOWN, 500)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    BinanceError: on_binance_error,
    ExchangeError: on_exchange_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    **dict.fromkeys(UNAVAILABLE, on_unavailable),
    Exception: on_bug,
}
