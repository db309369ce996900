"""Unmodified python-binance 1.0.37 streaming from MockX: the socket manager's market and user sockets, and
the WebSocket API helpers. Pointed by its URL class attributes, as its own documentation does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from binance import AsyncClient, BinanceSocketManager
from binance.client import BaseClient

from tests.support.binance import KEY, SECRET, Native
from tests.support.binance_ws import WAIT, moving


@pytest.fixture
async def client(binance: tuple[str, Native], monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncClient]:
    base, _ = binance
    ws = base.replace("http://", "ws://")
    monkeypatch.setattr(BaseClient, "API_URL", base + "/api")
    monkeypatch.setattr(BaseClient, "MARGIN_API_URL", base + "/sapi")
    monkeypatch.setattr(BaseClient, "WS_API_URL", ws + "/ws-api/v3")
    monkeypatch.setattr(BinanceSocketManager, "STREAM_URL", ws + "/")
    c = await AsyncClient.create(KEY, SECRET)  # GET ping, GET time
    yield c
    await c.close_connection()


async def _first(socket: Any, wanted: Any) -> Any:
    async with socket as s:
        async with asyncio.timeout(WAIT):
            while True:
                message = await s.recv()
                if wanted(message):
                    return message


async def test_market_sockets(client: AsyncClient, binance: tuple[str, Native]) -> None:
    _, native = binance
    bm = BinanceSocketManager(client)
    async with moving(native):
        ticker = await _first(bm.symbol_ticker_socket("BTCUSDT"), lambda m: True)
        assert (ticker["e"], ticker["s"]) == ("24hrTicker", "BTCUSDT")
        kline = await _first(bm.kline_socket("BTCUSDT"), lambda m: True)
        assert (kline["e"], kline["k"]["i"]) == ("kline", "1m")
        partial = await _first(bm.depth_socket("BTCUSDT", depth=5), lambda m: True)
        assert len(partial["bids"]) == len(partial["asks"]) == 5
        assert partial["lastUpdateId"] > 0
        diff = await _first(bm.depth_socket("BTCUSDT"), lambda m: True)
        assert diff["e"] == "depthUpdate"
        assert diff["U"] <= diff["u"]
        combined = await _first(bm.multiplex_socket(["btcusdt@bookTicker", "btcusdt@kline_1m"]), lambda m: True)
        assert combined["stream"] in ("btcusdt@bookTicker", "btcusdt@kline_1m")


async def test_user_socket_and_ws_api(client: AsyncClient, binance: tuple[str, Native]) -> None:
    _, native = binance
    bm = BinanceSocketManager(client)
    async with bm.user_socket() as user:  # userDataStream.subscribe.signature on the WebSocket API
        placed = await client.ws_create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001", price="50000"
        )
        assert placed["status"] == "NEW"
        async with asyncio.timeout(WAIT):
            report = await user.recv()
            while report.get("e") != "executionReport":
                report = await user.recv()
        assert (report["x"], report["X"], report["i"]) == ("NEW", "NEW", placed["orderId"])
        status = await client.ws_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
        assert status["orderId"] == placed["orderId"]
        canceled = await client.ws_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
        assert canceled["status"] == "CANCELED"
        async with asyncio.timeout(WAIT):
            report = await user.recv()
            while report.get("e") != "executionReport":
                report = await user.recv()
        assert (report["x"], report["X"]) == ("CANCELED", "CANCELED")
        account = await client.ws_get_account()
        assert {b["asset"]: b["free"] for b in account["balances"]}["USDT"] == "100000.00000000"
    assert native.get(f"/orders/{placed['orderId']}")["status"] == "canceled"
