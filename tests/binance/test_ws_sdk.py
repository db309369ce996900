"""Binance's official binance-sdk-spot 13.3.0 streaming from MockX: its WebSocket API (requests and the user
data stream) and its market streams (``/stream`` + SUBSCRIBE, combined), pointed by ``stream_url`` only."""

from __future__ import annotations

import asyncio
from typing import Any

from binance_common.configuration import ConfigurationWebSocketAPI, ConfigurationWebSocketStreams
from binance_sdk_spot.spot import Spot
from binance_sdk_spot.websocket_api.models import (
    OrderPlaceSideEnum,
    OrderPlaceTimeInForceEnum,
    OrderPlaceTypeEnum,
)

from tests.support.binance import KEY, SECRET, Native
from tests.support.binance_ws import WAIT, moving


def _spot(base: str) -> Spot:
    ws = base.replace("http://", "ws://")
    return Spot(
        config_ws_api=ConfigurationWebSocketAPI(api_key=KEY, api_secret=SECRET, stream_url=ws + "/ws-api/v3"),
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=ws),
    )


async def _until(found: list[Any], count: int = 1) -> None:
    """Wait until the SDK's callbacks have collected ``count`` messages."""
    async with asyncio.timeout(WAIT):
        while len(found) < count:  # noqa: ASYNC110 - the SDK calls back; there is no event to wait on
            await asyncio.sleep(0.05)


async def test_sdk_ws_api_and_user_data(binance: tuple[str, Native]) -> None:
    base, native = binance
    conn = await _spot(base).websocket_api.create_connection()
    try:
        assert (await conn.time()).data().result.server_time > 0
        subscription = await conn.user_data_stream_subscribe_signature()
        events: list[Any] = []
        subscription.stream.on("message", events.append)
        placed = await conn.order_place(
            symbol="BTCUSDT", side=OrderPlaceSideEnum.BUY, type=OrderPlaceTypeEnum.LIMIT,
            time_in_force=OrderPlaceTimeInForceEnum.GTC, quantity=0.001, price=50000.0,
        )  # fmt: skip
        order = placed.data().result
        assert order.status == "NEW"
        await _until(events, 2)  # the executionReport, then the account position
        reports = [e.actual_instance for e in events]
        report = next(r for r in reports if type(r).__name__ == "ExecutionReport")  # the SDK's own model
        assert (report.x, report.i) == ("NEW", order.order_id)
        account = (await conn.account_status()).data().result
        assert {b.asset: b.locked for b in account.balances}["USDT"] != "0.00000000"
    finally:
        await conn.close_connection()
    assert native.get(f"/orders/{order.order_id}")["status"] == "open"


async def test_sdk_market_streams(binance: tuple[str, Native]) -> None:
    base, native = binance
    conn = await _spot(base).websocket_streams.create_connection()
    try:
        tickers: list[Any] = []
        klines: list[Any] = []
        (await conn.book_ticker(symbol="btcusdt")).on("message", tickers.append)
        (await conn.kline(symbol="btcusdt", interval="1m")).on("message", klines.append)
        async with moving(native):
            await _until(tickers)
            await _until(klines)
        assert tickers[0].s == "BTCUSDT"
        assert klines[0].k.i == "1m"
    finally:
        await conn.close_connection()
