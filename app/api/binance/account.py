"""Binance's account routes (account, myTrades, commission, order counts) and the ``/sapi/v1`` calls clients make.

ccxt's default ``load_markets`` (with keys set) calls ``capital/config/getall`` and the two margin pair lists:
each must answer 200, so they answer from the known assets and with empty lists. ``system/status`` reports
maintenance while a fault says so (:mod:`app.api.binance.faults`).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get

from app.api.binance.auth import api_key, authenticate
from app.api.binance.faults import maintenance
from app.api.binance.params import Params
from app.api.binance.ratelimit import order_counts
from app.api.binance.serialize import Json, binance_symbol, my_trade, num
from app.api.binance.symbols import index_of
from app.api.binance.trading import commission_rates
from app.api.binance.wire import json_response
from app.engine.exchange import Exchange
from app.engine.models import Trade

V3, SAPI = "/api/v3", "/sapi/v1"


def _bps(rate: Decimal) -> int:
    return int(rate * 10000)


@get(f"{V3}/account", opt={"weight": 20})
async def account(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    balance = await ex.fetch_balance()
    omit = params.flag("omitZeroBalances")
    rows = [
        {"asset": asset, "free": num(row.free), "locked": num(row.used)}
        for asset, row in sorted(balance.rows.items())
        if not (omit and not row.total)
    ]
    fees = ex.orders.fees
    return json_response(
        {
            "makerCommission": _bps(fees.maker), "takerCommission": _bps(fees.taker), "buyerCommission": 0,
            "sellerCommission": 0, "commissionRates": commission_rates(ex), "canTrade": True,
            "canWithdraw": True, "canDeposit": True, "brokered": False, "requireSelfTradePrevention": False,
            "preventSor": False, "updateTime": balance.timestamp, "accountType": "SPOT", "balances": rows,
            "permissions": ["SPOT"], "uid": 0,
        }
    )  # fmt: skip


async def _trades(ex: Exchange, params: Params, symbol: str) -> list[Trade]:
    order_id = params.integer("orderId")
    limit = params.limit(500, 1000)
    since, until, from_id = params.integer("startTime"), params.integer("endTime"), params.integer("fromId")
    if order_id is None:
        return await ex.fetch_my_trades(symbol=symbol, since=since, until=until, from_id=from_id, limit=limit)
    placed = await ex.fetch_order(str(order_id))
    found = await ex.fetch_my_trades(symbol=symbol, since=placed.timestamp, limit=1000)
    return [t for t in found if t.order_id == placed.id][:limit]


@get(f"{V3}/myTrades", opt={"weight": 20})
async def my_trades(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The symbol's fills, oldest first (``orderId``: that order's; ``fromId``, ``startTime``, ``endTime``)."""
    params = await Params.of(request)
    ex = await authenticate(request, params)
    name = params.symbol()
    assert name is not None
    symbol = (await index_of(request.app.state).get(ex, name)).sym
    return json_response([my_trade(t) for t in await _trades(ex, params, symbol)])


def _commission(ex: Exchange, name: str) -> Json:
    zero = "0.00000000"
    return {
        "symbol": name,
        "standardCommission": commission_rates(ex),
        "specialCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
        "taxCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
        "discount": {"enabledForAccount": False, "enabledForSymbol": False, "discountAsset": "BNB", "discount": zero},
    }


@get(f"{V3}/account/commission", opt={"weight": 20})
async def account_commission(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    name = params.symbol()
    assert name is not None
    await index_of(request.app.state).get(ex, name)
    return json_response(_commission(ex, name))


@get(f"{V3}/rateLimit/order", opt={"weight": 40})
async def rate_limit_order(request: Request[Any, Any, Any]) -> Response[bytes]:
    await authenticate(request, await Params.of(request))
    ten_s, day = order_counts(request.app.state, api_key(request))
    return json_response(
        [
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100, "count": ten_s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000, "count": day},
        ]
    )


@get(f"{V3}/myPreventedMatches", opt={"weight": 2})
async def prevented_matches(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Self-trade prevention never triggers here (the book is the market's, not other accounts')."""
    params = await Params.of(request)
    await authenticate(request, params)
    return json_response([])


def _network(coin: str) -> Json:
    return {
        "network": coin, "coin": coin, "name": coin, "isDefault": True, "depositEnable": True,
        "withdrawEnable": True, "depositDesc": "", "withdrawDesc": "", "withdrawIntegerMultiple": "0.00000001",
        "withdrawFee": "0", "withdrawMin": "0", "withdrawMax": "9999999999.99999999", "minConfirm": 1,
        "unLockConfirm": 0, "sameAddress": False, "resetAddressStatus": False, "estimatedArrivalTime": 1,
        "busy": False, "specialTips": "",
    }  # fmt: skip


@get(f"{SAPI}/capital/config/getall", opt={"weight": 10})
async def coins(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every asset of a market or of the account's balances, free to deposit and withdraw."""
    params = await Params.of(request)
    ex = await authenticate(request, params)
    records = await index_of(request.app.state).reload(ex)
    balance = await ex.fetch_balance()
    assets = sorted({a for r in records.values() for a in (r.base, r.quote)} | set(balance.rows))
    zero = "0"
    out = []
    for coin in assets:
        row = balance.rows.get(coin)
        out.append(
            {
                "coin": coin, "name": coin, "depositAllEnable": True, "withdrawAllEnable": True,
                "free": num(row.free) if row else zero, "locked": num(row.used) if row else zero, "freeze": zero,
                "withdrawing": zero, "ipoing": zero, "ipoable": zero, "storage": zero, "isLegalMoney": False,
                "trading": True, "networkList": [_network(coin)],
            }
        )  # fmt: skip
    return json_response(out)


@get([f"{SAPI}/margin/allPairs", f"{SAPI}/margin/isolated/allPairs", f"{SAPI}/spot/delist-schedule"],
     opt={"weight": 1})  # fmt: skip
async def empty_lists(request: Request[Any, Any, Any]) -> Response[bytes]:
    """No margin here, and nothing is being delisted."""
    params = await Params.of(request)
    if "signature" in params:
        await authenticate(request, params)
    return json_response([])


@get(f"{SAPI}/asset/tradeFee", opt={"weight": 1})
async def trade_fee(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = await Params.of(request)
    ex = await authenticate(request, params)
    records = await index_of(request.app.state).reload(ex)
    name = params.symbol(required=False)
    names = [name] if name is not None else sorted(records)
    await index_of(request.app.state).get(ex, names[0]) if name is not None else None
    maker, taker = format(ex.orders.fees.maker, "f"), format(ex.orders.fees.taker, "f")
    return json_response([{"symbol": n, "makerCommission": maker, "takerCommission": taker} for n in names])


@get(f"{SAPI}/system/status", opt={"weight": 1})
async def system_status(request: Request[Any, Any, Any]) -> Response[bytes]:
    down = maintenance(request.app.state)
    return json_response({"status": 1, "msg": "system maintenance"} if down else {"status": 0, "msg": "normal"})


@get(f"{SAPI}/account/status", opt={"weight": 1})
async def account_status(request: Request[Any, Any, Any]) -> Response[bytes]:
    await authenticate(request, await Params.of(request))
    return json_response({"data": "Normal"})


@get(f"{SAPI}/account/apiTradingStatus", opt={"weight": 1})
async def api_trading_status(request: Request[Any, Any, Any]) -> Response[bytes]:
    await authenticate(request, await Params.of(request))
    now = int(time.time() * 1000)
    return json_response(
        {"data": {"isLocked": False, "plannedRecoverTime": 0,
                  "triggerCondition": {"GCR": 150, "IFER": 150, "UFR": 300}, "updateTime": now}}
    )  # fmt: skip


HANDLERS = [
    account, my_trades, account_commission, rate_limit_order, prevented_matches, coins, empty_lists, trade_fee,
    system_status, account_status, api_trading_status,
]  # fmt: skip
__all__ = ["HANDLERS", "binance_symbol"]
