"""The Binance spot REST dialect: ``/api/v3``, ``/api/v1``, the ``/sapi/v1`` calls clients make, and empty
``/fapi/v1`` / ``/dapi/v1`` exchangeInfo, on the same port and engine as the native API.

:func:`binance_router` is one Litestar ``Router`` with the dialect's own auth (:mod:`.auth`: X-MBX-APIKEY and
signatures instead of the native ``x-api-key`` guard), error shape (:mod:`.errors`), serializer
(:mod:`.serialize`), rate limits (:mod:`.ratelimit`) and faults (:mod:`.faults`). Unmodified ccxt,
python-binance and binance-sdk-spot clients trade against it once their base URLs point here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from litestar import Request, Router
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.api.binance import account, market, order_lists, trading
from app.api.binance.auth import HEADER
from app.api.binance.errors import EXCEPTION_HANDLERS, BinanceError, error_response
from app.api.binance.faults import FaultController, apply
from app.api.binance.ratelimit import count_order, count_weight
from app.api.common.auth import PUBLIC
from app.settings import Settings

__all__ = ["FaultController", "binance_router"]


def rate_limit_middleware(settings: Settings) -> Any:
    """Count each request's weight (and new orders) and add Binance's usage headers to its response."""
    enforce = settings.rate_limits == "enforce"

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            opt = scope["route_handler"].opt
            state = scope["app"].state
            client = scope.get("client")
            ip = client[0] if client else ""
            headers: list[tuple[bytes, bytes]] = []
            try:
                used = count_weight(state, ip, int(opt.get("weight", 1)), limit=settings.rate_limit_weight,
                                    enforce=enforce)  # fmt: skip
                headers.append((b"x-mbx-used-weight-1m", str(used).encode()))
                if opt.get("order") and scope.get("method") == "POST":
                    key = next((v for k, v in scope["headers"] if k.lower() == HEADER), b"").decode("latin-1")
                    ten_s, day = count_order(state, key, limit=settings.rate_limit_orders, enforce=enforce)
                    headers += [(b"x-mbx-order-count-10s", str(ten_s).encode()),
                                (b"x-mbx-order-count-1d", str(day).encode())]  # fmt: skip
            except BinanceError as exc:
                response = error_response(exc.code, exc.msg, exc.status, exc.headers)
                await response.to_asgi_response(app=None, request=Request(scope))(scope, receive, send)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *headers]
                await send(message)

            await app(scope, receive, send_with_headers)

        return middleware

    return factory


async def _faults(request: Request[Any, Any, Any]) -> None:
    state = request.app.state
    if not getattr(state, "binance_faults", None):
        return
    symbol = request.query_params.get("symbol")
    if symbol is None and request.method != "GET":
        sent = parse_qs((await request.body()).decode("latin-1")).get("symbol")
        symbol = sent[0] if sent else None
    await apply(state, request.method, request.url.path, symbol)


def binance_router(settings: Settings) -> Router:
    """Every route of the dialect, public to the native guard (the dialect authenticates by itself)."""
    return Router(
        path="/",
        route_handlers=[*market.HANDLERS, *trading.HANDLERS, *order_lists.HANDLERS, *account.HANDLERS],
        opt=PUBLIC,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[rate_limit_middleware(settings)],
        before_request=_faults,
        include_in_schema=False,
        tags=["Binance"],
    )
