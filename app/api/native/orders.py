"""Orders and the account's trades, in ccxt's shapes; the lists are paged (see :mod:`app.engine.history`).

A list is a bare JSON array, oldest first, of at most ``limit`` rows (default 500, at most 1000): the newest
rows, or with ``since`` / ``fromId`` the oldest rows from there. When there is more, the ``Link`` header
(RFC 8288) gives the next page: ``<URL>; rel="next"``, the same query with ``toId`` (older rows) or
``fromId`` (newer rows) set to the first row of that page. The last page has no ``Link``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, delete, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import QueryParameter

from app.api.common.codec import ExactResponse
from app.api.common.deps import ExchangeDep
from app.api.native import ccxt
from app.api.native.ccxt import CanExecute, Order, OrderList, Trade, TradingFee
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.api.native.schemas import OcoBody, OrderBody, OrderIdPath
from app.engine.history import MAX_LIMIT, Cursor

Since = Annotated[
    int | None,
    QueryParameter(ge=0, description="The oldest rows at or after this time (ms since the epoch)"),
]
Until = Annotated[int | None, QueryParameter(ge=0, description="Only rows at or before this time (ms since the epoch)")]
FromId = Annotated[
    int | None,
    QueryParameter(name="fromId", ge=0, description="The oldest rows from the row with this id on"),
]
ToId = Annotated[
    int | None,
    QueryParameter(name="toId", ge=0, description="Only the row with this id and older ones"),
]
Limit = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Rows per page (default 500, at most {MAX_LIMIT})")
]
Tail = Annotated[int | None, QueryParameter(ge=1, le=MAX_LIMIT, description="The same as limit")]
SIDE_DOC = "buy or sell; filters the page read, so a page may hold fewer than limit rows"
STATUS_DOC = "open, closed, canceled, expired, rejected; also new, filled, partially_filled, cancelled"
LINK = [ResponseHeader(name="Link", documentation_only=True, description='The next page: <URL>; rel="next"')]


def paged(request: Request[Any, Any, Any], rows: Sequence[Any], cursor: Cursor | None) -> Response[Any]:
    """``rows`` as a bare array, with the ``Link`` of the next page when there is one."""
    headers = {}
    if cursor is not None:
        query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("fromId", "toId")]
        query.append(("fromId", cursor.from_id) if cursor.from_id is not None else ("toId", cursor.to_id or ""))
        url = request.url.with_replacements(query=urlencode(query))
        headers["Link"] = f'<{url}>; rel="next"'
    return ExactResponse(list(rows), headers=headers)


class OrderController(NativeController):
    path = "/orders"
    tags = ("Orders",)

    @post("/", status_code=201, responses=responses(409))
    async def create(self, exchange: ExchangeDep, data: OrderBody) -> Order:
        """Place an order. ``type`` defaults to ``market``; market orders and marketable limits fill at once."""
        return ccxt.order(await exchange.create_order(**data.arguments()))

    @post("/oco", status_code=201, responses=responses(409))
    async def create_oco(self, exchange: ExchangeDep, data: OcoBody) -> OrderList:
        """Place a one-cancels-the-other list: a limit order that rests and a stop-loss(-limit), one amount, one
        reservation (the larger leg's). When one leg fills or triggers the other is canceled in the same step;
        canceling either leg cancels the list."""
        return ccxt.order_list(await exchange.create_oco(**data.arguments()))

    @post("/can_execute", status_code=200, responses=responses())
    async def can_execute(self, exchange: ExchangeDep, data: OrderBody) -> CanExecute:
        """Dry run of the same body: ``{"ok": true}`` or ``{"ok": false, "reason": ...}``; nothing changes."""
        return ccxt.can_execute(await exchange.can_execute(**data.arguments()))

    @get("/", responses=responses(), response_headers=LINK)
    async def list_orders(
        self,
        request: Request[Any, Any, Any],
        exchange: ExchangeDep,
        status: Annotated[str | None, QueryParameter(description=STATUS_DOC, max_length=32)] = None,
        symbol: Annotated[str | None, QueryParameter(max_length=64)] = None,
        side: Annotated[
            str | None, QueryParameter(description="buy or sell; filters the page read", max_length=8)
        ] = None,
        since: Since = None,
        until: Until = None,
        from_id: FromId = None,
        to_id: ToId = None,
        limit: Limit = None,
        tail: Tail = None,
    ) -> Response[list[Order]]:
        """One page of orders, oldest first: the newest ``limit`` (or ``tail``) matching, or the oldest from
        ``since`` / ``fromId``; filters combine (``side`` filters the page read, so a page may be short).
        The ``Link`` header gives the next page."""
        page = await exchange.fetch_orders_page(
            status=status, symbol=symbol, side=side, since=since, until=until, from_id=from_id, to_id=to_id,
            limit=limit, tail=tail,
        )  # fmt: skip
        return paged(request, [ccxt.order(o) for o in page.items], page.next)

    @get("/{order_id:str}", responses=responses(404))
    async def get_order(self, exchange: ExchangeDep, order_id: OrderIdPath) -> Order:
        """One order, by id or by clientOrderId."""
        return ccxt.order(await exchange.fetch_order(order_id))

    @post("/{order_id:str}/cancel", status_code=200, responses=responses(404))
    async def cancel(self, exchange: ExchangeDep, order_id: OrderIdPath) -> Order:
        """Cancel an open order (by id or clientOrderId); OrderNotFound if it is unknown or no longer open."""
        return ccxt.order(await exchange.cancel_order(order_id))

    @delete("/{order_id:str}", status_code=200, responses=responses(404))
    async def cancel_delete(self, exchange: ExchangeDep, order_id: OrderIdPath) -> Order:
        """The same as ``POST /orders/{order_id}/cancel``."""
        return ccxt.order(await exchange.cancel_order(order_id))


class TradeController(NativeController):
    path = "/trades"
    tags = ("Orders",)

    @get("/", responses=responses(), response_headers=LINK)
    async def list_trades(
        self,
        request: Request[Any, Any, Any],
        exchange: ExchangeDep,
        symbol: Annotated[str | None, QueryParameter(max_length=64)] = None,
        since: Since = None,
        until: Until = None,
        from_id: FromId = None,
        to_id: ToId = None,
        limit: Limit = None,
        tail: Tail = None,
    ) -> Response[list[Trade]]:
        """One page of the account's fills in ccxt's trade shape, oldest first, paged as ``GET /orders``."""
        page = await exchange.fetch_my_trades_page(
            symbol=symbol, since=since, until=until, from_id=from_id, to_id=to_id, limit=limit, tail=tail
        )
        return paged(request, [ccxt.trade(t) for t in page.items], page.next)


class TradingFeeController(NativeController):
    path = "/trading-fees"
    tags = ("Orders",)

    @get("/", responses=responses())
    async def trading_fees(self, exchange: ExchangeDep) -> dict[str, TradingFee]:
        """The account's maker and taker rates on every market, keyed by symbol (ccxt's ``fetch_trading_fees``):
        ``MAKER_FEE`` / ``TAKER_FEE``, or the account's own commission for both; ``feeSide`` is ``quote``, or
        ``get`` with ``FEE_ASSET=received`` (a buy pays in the base asset, a sell in the quote asset)."""
        return {s: ccxt.trading_fee(f) for s, f in (await exchange.fetch_trading_fees()).items()}
