"""Binance market streams over real WebSockets: connection styles, control messages, and the payloads
(depth diffs that chain onto a snapshot, trades, klines, tickers) from ticks the engine applied."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
import websockets

from app.api import create_app
from app.engine.exchange import Exchange
from app.settings import Settings
from tests.support.book import Ticks, book_fields, settle_batch
from tests.support.http import LiveServer

BOOKS = [
    ([("100", "1"), ("99", "2")], [("101", "1.5"), ("102", "1")]),
    ([("100", "0.5"), ("98", "3")], [("101", "1.5"), ("103", "4")]),
    ([("100.5", "1"), ("100", "0.5")], [("101", "2")]),
    ([("100.5", "2")], [("101", "2"), ("101.5", "0.25")]),
]


def _ws(live: LiveServer, path: str) -> str:
    return live.url.replace("http://", "ws://") + path


async def _messages(ws: Any, until: Any) -> AsyncIterator[Any]:
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await ws.recv(), parse_float=Decimal)
            yield message
            if until(message):
                return


async def _call(ws: Any, request: dict[str, Any]) -> Any:
    """Send a control message; its answer (stream payloads before it are skipped)."""
    await ws.send(json.dumps(request))
    answer = None
    async for message in _messages(ws, _is_answer):
        answer = message
    return answer


def _is_answer(message: Any) -> bool:
    return isinstance(message, dict) and "id" in message and ("result" in message or "error" in message)


def _apply(book: dict[str, dict[Decimal, Decimal]], side: str, changes: list[list[str]]) -> None:
    for price, qty in changes:
        if Decimal(qty) == 0:
            book[side].pop(Decimal(price), None)
        else:
            book[side][Decimal(price)] = Decimal(qty)


async def test_depth_diffs_chain_onto_the_snapshot_as_binance_documents(live: LiveServer, exchange: Exchange) -> None:
    tick = Ticks("BTC/USDT")
    await settle_batch(exchange, tick(book_fields(*BOOKS[0], qty="0.1")))
    async with websockets.connect(_ws(live, "/ws/0")) as ws:
        ack = await _call(ws, {"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1})
        assert ack == {"result": None, "id": 1}
        async with httpx.AsyncClient(base_url=live.url) as http:  # the snapshot, after the ack (as ccxt.pro)
            snapshot = (await http.get("/markets/BTC/USDT/orderbook")).json(parse_float=Decimal)
        for bids, asks in BOOKS[1:]:
            await settle_batch(exchange, tick(book_fields(bids, asks)))
            await asyncio.sleep(0.15)
        final = await exchange.order_book("BTC/USDT")
        book = {"b": {Decimal(str(p)): Decimal(str(q)) for p, q in snapshot["bids"]},
                "a": {Decimal(str(p)): Decimal(str(q)) for p, q in snapshot["asks"]}}  # fmt: skip
        last = snapshot["nonce"]
        applied = 0
        async for event in _messages(ws, lambda m: m["u"] >= final.nonce):
            assert event["e"] == "depthUpdate"
            assert event["s"] == "BTCUSDT"
            if event["u"] <= last:
                continue  # older than the snapshot: dropped
            assert event["U"] <= last + 1 <= event["u"]  # chained to the snapshot, then to each other
            _apply(book, "b", event["b"])
            _apply(book, "a", event["a"])
            last, applied = event["u"], applied + 1
        assert applied >= 1
        assert sorted(book["b"].items(), reverse=True) == list(final.bids)
        assert sorted(book["a"].items()) == list(final.asks)


async def test_trades_and_klines_follow_the_prints(live: LiveServer, exchange: Exchange) -> None:
    tick = Ticks("ETH/USDT")
    await settle_batch(exchange, tick(book_fields([("2000", "1")], [("2001", "1")])))
    async with websockets.connect(_ws(live, "/stream?streams=ethusdt@trade/ethusdt@kline_1m")) as ws:
        prints = [({"price": "2001", "qty": "0.5", "bid": "2000", "ask": "2001"}), ({"price": "2000", "qty": "0.25"})]
        await settle_batch(exchange, tick(*prints))
        trades: list[Any] = []
        klines: list[Any] = []
        async for message in _messages(ws, lambda m: len(trades) == 2 and klines and klines[-1]["v"] == "0.75000000"):
            data = message["data"]
            assert message["stream"] == ("ethusdt@trade" if data["e"] == "trade" else "ethusdt@kline_1m")
            (trades if data["e"] == "trade" else klines).append(data if data["e"] == "trade" else data["k"])
        assert [(t["p"], t["q"], t["s"]) for t in trades] == [
            ("2001.00000000", "0.50000000", "ETHUSDT"),
            ("2000.00000000", "0.25000000", "ETHUSDT"),
        ]
        assert trades[1]["t"] == trades[0]["t"] + 1
        k = klines[-1]
        (candle,) = await exchange.fetch_ohlcv("ETH/USDT", "1m", since=k["t"], until=k["t"])
        assert (k["o"], k["h"], k["l"], k["c"], k["v"], k["i"], k["x"]) == (
            f"{candle.open:.8f}",
            f"{candle.high:.8f}",
            f"{candle.low:.8f}",
            f"{candle.close:.8f}",
            "0.75000000",
            "1m",
            False,
        )
        assert k["T"] == k["t"] + 59_999


async def test_control_messages_answer_as_binance(live: LiveServer) -> None:
    async with websockets.connect(_ws(live, "/ws/btcusdt@bookTicker")) as ws:
        assert await _call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": "a1"}) == {
            "result": ["btcusdt@bookTicker"], "id": "a1"}  # fmt: skip
        await _call(ws, {"method": "SUBSCRIBE", "params": ["btcusdt@depth", "ethusdt@trade"], "id": None})
        await _call(ws, {"method": "UNSUBSCRIBE", "params": ["btcusdt@depth"], "id": 7})
        listed = await _call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 8})
        assert listed == {"result": ["btcusdt@bookTicker", "ethusdt@trade"], "id": 8}
        assert await _call(ws, {"method": "GET_PROPERTY", "params": ["combined"], "id": 2}) == {
            "result": False,
            "id": 2,
        }
        assert await _call(ws, {"method": "SET_PROPERTY", "params": ["combined", True], "id": 3}) == {
            "result": None, "id": 3}  # fmt: skip
        assert (await _call(ws, {"method": "GET_PROPERTY", "params": ["combined"], "id": 4}))["result"] is True
        errors = [
            ({"method": "SUBSCRIB", "params": [], "id": 5}, 2, "unknown variant `SUBSCRIB`"),
            ({"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 6}, 1, "expected Boolean"),
            ({"method": "GET_PROPERTY", "params": ["speed"], "id": 9}, 0, "Unknown property"),
            ({"method": "LIST_SUBSCRIPTIONS", "id": 1.5}, 2, "request ID must be an unsigned integer"),
            ({"params": [], "id": 10}, 2, "missing field `method`"),
        ]
        for request, code, words in errors:
            answer = await _call(ws, request)
            assert answer["error"]["code"] == code, answer
            assert words in answer["error"]["msg"]
        await ws.send("{not json")
        async for answer in _messages(ws, lambda m: "error" in m):
            assert answer["error"]["code"] == 3


@pytest.mark.parametrize(
    "path", ["/ws/btcusdt@bookTicker", "/stream/ws/btcusdt@bookTicker", "/stream?streams=btcusdt@bookTicker"]
)
async def test_book_ticker_in_every_connection_style(live: LiveServer, exchange: Exchange, path: str) -> None:
    tick = Ticks("BTC/USDT")
    await settle_batch(exchange, tick({"price": "100", "bid": "99.5", "ask": "100.5"}))
    async with websockets.connect(_ws(live, path)) as ws:
        await _call(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 1})  # subscribed before the tick below
        await settle_batch(exchange, tick({"price": "101", "bid": "100.5", "ask": "101.5", "bid_qty": "3"}))
        async for message in _messages(ws, lambda m: "result" not in m):
            data = message["data"] if path.startswith("/stream?") else message
            if path.startswith("/stream?"):
                assert message["stream"] == "btcusdt@bookTicker"
            assert {k: data[k] for k in "sbBa"} == {
                "s": "BTCUSDT",
                "b": "100.50000000",
                "B": "3.00000000",
                "a": "101.50000000",
            }
            assert set(data) == {"u", "s", "b", "B", "a", "A"}


async def _drain(ws: Any) -> None:
    """Read until the server closes the socket."""
    async with asyncio.timeout(20):
        while True:
            await ws.recv()


async def test_a_client_that_falls_behind_is_closed_with_1013(settings: Settings, exchange: Exchange) -> None:
    slow = msgspec.structs.replace(settings, events_queue=20)
    server = LiveServer(create_app(slow), send_buffer=4096).start()
    try:
        tick = Ticks("BTC/USDT")
        await settle_batch(exchange, tick({"price": "100", "bid": "99", "ask": "101"}))
        async with websockets.connect(_ws(server, "/ws/btcusdt@trade"), max_size=None, max_queue=1) as ws:
            prints = [{"price": str(100 + n % 3), "qty": "0.001"} for n in range(3000)]
            for start in range(0, len(prints), 500):  # the socket is not read meanwhile
                await settle_batch(exchange, tick(*prints[start : start + 500]))
            await asyncio.sleep(1.0)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await _drain(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1013
        assert closed.value.rcvd.reason.startswith("too slow")
    finally:
        server.stop()
