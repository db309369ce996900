"""Orders and the account's trades, in ccxt's shapes."""

from __future__ import annotations

from typing import Annotated

from litestar import delete, get, post
from litestar.params import QueryParameter

from app.api.common.deps import ExchangeDep
from app.api.native import ccxt
from app.api.native.ccxt import CanExecute, Order, Trade
from app.api.native.errors import responses
from app.api.native.request import NativeController
from app.api.native.schemas import OrderBody, OrderIdPath
from app.engine.errors import BadRequest

Since = Annotated[int | None, QueryParameter(ge=0, description="Only items at or after this time (ms since the epoch)")]
Limit = Annotated[int | None, QueryParameter(ge=1, description="Keep only the most recent N")]
STATUS_DOC = "open, closed, canceled, expired, rejected; also new, filled, partially_filled, cancelled"


class OrderController(NativeController):
    path = "/orders"
    tags = ("Orders",)

    @post("/", status_code=201, responses=responses(409))
    async def create(self, exchange: ExchangeDep, data: OrderBody) -> Order:
        """Place an order. ``type`` defaults to ``market``; market orders and marketable limits fill at once."""
        return ccxt.order(await exchange.create_order(**data.arguments()))

    @post("/can_execute", status_code=200, responses=responses())
    async def can_execute(self, exchange: ExchangeDep, data: OrderBody) -> CanExecute:
        """Dry run of the same body: ``{"ok": true}`` or ``{"ok": false, "reason": ...}``; nothing changes."""
        return ccxt.can_execute(await exchange.can_execute(**data.arguments()))

    @get("/", responses=responses())
    async def list_orders(
        self,
        exchange: ExchangeDep,
        status: Annotated[str | None, QueryParameter(description=STATUS_DOC, max_length=32)] = None,
        symbol: Annotated[str | None, QueryParameter(max_length=64)] = None,
        side: Annotated[str | None, QueryParameter(description="buy or sell", max_length=8)] = None,
        since: Since = None,
        limit: Limit = None,
        tail: Annotated[int | None, QueryParameter(ge=1, description="The same as limit")] = None,
    ) -> list[Order]:
        """Orders oldest first; filters combine; ``limit`` (or ``tail``) keeps the most recent ones."""
        if limit is not None and tail is not None and limit != tail:
            raise BadRequest("limit and tail mean the same thing: send one of them")
        orders = await exchange.fetch_orders(
            status=status, symbol=symbol, side=side, since=since, limit=limit if limit is not None else tail
        )
        return [ccxt.order(o) for o in orders]

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

    @get("/", responses=responses())
    async def list_trades(
        self,
        exchange: ExchangeDep,
        symbol: Annotated[str | None, QueryParameter(max_length=64)] = None,
        since: Since = None,
        limit: Limit = None,
    ) -> list[Trade]:
        """The account's fills, oldest first, in ccxt's trade shape."""
        return [ccxt.trade(t) for t in await exchange.fetch_my_trades(symbol=symbol, since=since, limit=limit)]
