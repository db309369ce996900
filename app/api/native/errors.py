"""The native dialect's errors: every failure as ``{"error": {"code": <ccxt name>, "message": <sentence>}}``.

Domain errors (:mod:`app.engine.errors`) carry a code; :data:`CCXT` maps each code to the ccxt exception
class a ccxt bot would raise and the HTTP status. Framework errors (validation,
unknown route, wrong method, body too large) become ``BadRequest`` / ``NotSupported`` with their 4xx.
A Valkey that cannot be reached is a 503 ``ExchangeNotAvailable`` at once (the client has short
timeouts and the pool reconnects by itself, so the next request after Valkey returns succeeds).
Anything else is a bug: logged with its traceback, answered 500 without details.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from redis.exceptions import OutOfMemoryError

from app.api.common.codec import ExactResponse
from app.api.common.errors import UNAVAILABLE
from app.engine.errors import ErrorCode, ExchangeError

log = logging.getLogger(__name__)

#: ccxt's name for a framework-level HTTP status.
_HTTP_CODES = {
    400: "BadRequest",
    401: "AuthenticationError",
    403: "PermissionDenied",
    404: "NotSupported",
    405: "NotSupported",
    413: "BadRequest",
    415: "BadRequest",
    429: "RateLimitExceeded",
    503: "ExchangeNotAvailable",
}
#: Every domain error code as the ccxt exception name and the HTTP status the native API answers with.
CCXT: dict[ErrorCode, tuple[str, int]] = {
    ErrorCode.BAD_REQUEST: ("BadRequest", 400),
    ErrorCode.BAD_SYMBOL: ("BadSymbol", 400),
    ErrorCode.INSUFFICIENT_FUNDS: ("InsufficientFunds", 400),
    ErrorCode.INVALID_ORDER: ("InvalidOrder", 400),
    ErrorCode.ORDER_NOT_FOUND: ("OrderNotFound", 404),
    ErrorCode.DUPLICATE_ORDER_ID: ("DuplicateOrderId", 409),
    ErrorCode.ORDER_IMMEDIATELY_FILLABLE: ("OrderImmediatelyFillable", 400),
    ErrorCode.ACCOUNT_NOT_FOUND: ("BadRequest", 404),
    ErrorCode.ACCOUNT_EXISTS: ("BadRequest", 409),
    ErrorCode.NOT_AUTHENTICATED: ("AuthenticationError", 401),
    ErrorCode.UNAVAILABLE: ("ExchangeNotAvailable", 503),
    ErrorCode.INTERNAL: ("ExchangeError", 500),
}


def ccxt_name(code: ErrorCode) -> str:
    """The ccxt exception name of a domain error code."""
    return CCXT[code][0]


class ErrorDetail(msgspec.Struct, frozen=True):
    code: str
    message: str


class ErrorBody(msgspec.Struct, frozen=True):
    """Every error the API returns."""

    error: ErrorDetail


def error_response(status: int, code: str, message: str) -> Response[Any]:
    return ExactResponse(ErrorBody(ErrorDetail(code, message)), status_code=status)


def on_exchange_error(_: Request[Any, Any, Any], exc: ExchangeError) -> Response[Any]:
    name, status = CCXT[exc.code]
    return error_response(status, name, exc.message)


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    items = exc.extra if isinstance(exc.extra, list) else []
    problems = [_problem(request, item) for item in items if isinstance(item, dict)]
    detail = "; ".join(problems) or exc.detail
    return error_response(400, "BadRequest", f"invalid request to {request.method} {request.url.path}: {detail}")


_ENUM = re.compile(r"Invalid enum value (.*)")


def _problem(request: Request[Any, Any, Any], item: dict[str, Any]) -> str:
    """One validation failure as words: where (body field, query or path parameter, header) and what."""
    key = str(item.get("key") or "")
    source = getattr(item.get("source"), "value", item.get("source")) or ""
    text = str(item.get("message") or "invalid value").rstrip(".")
    enum = _ENUM.fullmatch(text)
    if enum and source == "body" and (words := _body_choices(request, key)):
        text = f"must be {words}, got {enum.group(1)}"
    if source == "body":
        if key in ("", "data"):
            return "a JSON object body is required" if text == "'data'" else f"body: {text}"
        return f"body field {key!r}: {text}"
    if key:
        return f"{source} parameter {_sent_name(request, key)!r}: {text}" if source else f"{key!r}: {text}"
    return text


def _sent_name(request: Request[Any, Any, Any], key: str) -> str:
    """The name a client sends a parameter by (``fromId``), for the handler argument Litestar names (``from_id``)."""
    field = request.route_handler.parsed_fn_signature.parameters.get(key)
    definition = getattr(field, "kwarg_definition", None)
    alias = getattr(definition, "query", None) or getattr(definition, "name", None)
    return alias if isinstance(alias, str) and alias else key


def _body_choices(request: Request[Any, Any, Any], key: str) -> str:
    """The words a body field of the route takes (its ``Literal`` values), for the message; "" if none."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    info = msgspec.inspect.type_info(data.annotation) if data is not None else None
    if not isinstance(info, msgspec.inspect.StructType):
        return ""
    for field in info.fields:
        if field.encode_name == key:
            kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
            values = [repr(v) for t in kinds if isinstance(t, msgspec.inspect.LiteralType) for v in t.values]
            return ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else "".join(values)
    return ""


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    code = _HTTP_CODES.get(status, "BadRequest" if status < 500 else "ExchangeError")
    if status == 404:
        message = f"there is no endpoint {request.url.path}: see the API overview for the routes"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = exc.detail or "the request was refused"
    # Litestar reports a client that hung up mid-body as a 500; nobody is left to answer, nothing to log.
    if status >= 500 and "disconnected" not in (exc.detail or ""):
        log.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
    return error_response(status, code, message)


#: What a write refused by a full Valkey (maxmemory reached, noeviction) answers: what happened and what to do.
STORE_FULL = (
    "the exchange's state store is full (Valkey reached its maxmemory): nothing was written. Free memory by "
    "resetting accounts (DELETE /admin/data), raise maxmemory (MAXMEMORY for the embedded Valkey), or trim history"
)


def on_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("Valkey is not available (%s %s): %s", request.method, request.url.path, exc)
    if isinstance(exc, OutOfMemoryError):
        return error_response(503, "ExchangeNotAvailable", STORE_FULL)
    return error_response(
        503,
        "ExchangeNotAvailable",
        "the exchange's state store (Valkey) is not available right now (unreachable, read-only or full); "
        "retry shortly",
    )


def on_bug(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "ExchangeError", "internal error: the request failed on the server side")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ExchangeError: on_exchange_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    **dict.fromkeys(UNAVAILABLE, on_unavailable),
    Exception: on_bug,
}


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI docs for the error statuses a route can answer: always 400, 401, 403, 404 and 503, plus ``statuses``.

    Every error shares :class:`ErrorBody` (this replaces Litestar's own 400 shape in the schema too).
    """
    described = {
        400: "Bad input: the code names the ccxt error class (BadRequest, BadSymbol, InvalidOrder, ...)",
        401: "Missing or wrong x-api-key (AuthenticationError)",
        403: "The key is valid but may not do this: admin routes and account=<name> need the admin key "
        "(PermissionDenied)",
        404: "Not found (OrderNotFound; an unknown account=<name>), or no such route for this path",
        409: "Conflict (DuplicateOrderId; an account of that name exists)",
        503: "Valkey is not reachable (ExchangeNotAvailable)",
    }
    return {
        s: ResponseSpec(data_container=ErrorBody, description=described[s], generate_examples=False)
        for s in sorted({400, 401, 403, 404, 503, *statuses})
    }
