"""Unmodified ccxt.pro (binance) streaming from MockX: market streams and the WebSocket API user data.

Only ``urls`` change: every http entry moves to the server, every ws entry to its ws:// twin (paths kept).
Prices keep moving in the background while a watch waits, as on a live market.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import ccxt.pro as ccxtpro
import pytest

from app.engine.exchange import Exchange
from tests.support.binance import KEY, SECRET, Native
from tests.support.binance_ws import WAIT, moving
from tests.support.book import Ticks, settle_batch


def _pro(base: str) -> Any:
    ws = base.replace("http://", "ws://")

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith(("http", "ws")):
            return (ws if value.startswith("ws") else base) + urlsplit(value).path
        return value

    api = moved(ccxtpro.binance().urls["api"])
    return ccxtpro.binance({"apiKey": KEY, "secret": SECRET, "urls": {"api": api, "test": api}})


async def test_market_watches(binance: tuple[str, Native], exchange: Exchange) -> None:
    base, native = binance
    ex = _pro(base)
    try:
        await ex.load_markets()
        async with moving(native):
            ticker = await asyncio.wait_for(ex.watch_ticker("BTC/USDT"), WAIT)
            assert ticker["symbol"] == "BTC/USDT"
            assert 60000 <= ticker["last"] <= 60006
            full = await asyncio.wait_for(ex.watch_ticker("BTC/USDT", {"name": "ticker"}), WAIT)
            assert full["bid"] is not None
            tickers = await asyncio.wait_for(ex.watch_tickers(["BTC/USDT"]), WAIT)
            assert "BTC/USDT" in tickers
            quotes = await asyncio.wait_for(ex.watch_bids_asks(["BTC/USDT"]), WAIT)
            assert quotes["BTC/USDT"]["ask"] - quotes["BTC/USDT"]["bid"] == 2
            candles = await asyncio.wait_for(ex.watch_ohlcv("BTC/USDT", "1m"), WAIT)
            assert candles[-1][4] >= 60000
            for _ in range(8):  # a burst of book updates applied to ccxt's local book
                book = await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), WAIT)
        await asyncio.sleep(1.5)  # the last diff arrives; then the local book is the engine's
        book = await _settled_book(ex)
        engine = await exchange.order_book("BTC/USDT")
        assert book["bids"] == [[float(p), float(q)] for p, q in engine.bids]
        assert book["asks"] == [[float(p), float(q)] for p, q in engine.asks]
        assert book["nonce"] == engine.nonce

        tick = Ticks("BTC/USDT")
        watching = asyncio.create_task(ex.watch_trades("BTC/USDT"))
        await asyncio.sleep(0.5)
        await settle_batch(exchange, tick({"price": "60010", "qty": "0.3", "bid": "60009", "ask": "60010"}))
        trades = await asyncio.wait_for(watching, WAIT)
        assert [(t["price"], t["amount"], t["side"]) for t in trades][-1] == (60010, 0.3, "buy")
    finally:
        await ex.close()


async def _settled_book(ex: Any) -> Any:
    """ccxt's local book once no update came for a while."""
    book = ex.orderbooks["BTC/USDT"]
    return {"bids": [list(x) for x in book["bids"]], "asks": [list(x) for x in book["asks"]], "nonce": book["nonce"]}


async def test_user_data_and_ws_api_orders(binance: tuple[str, Native]) -> None:
    base, native = binance
    ex = _pro(base)
    try:
        await ex.load_markets()
        orders = asyncio.create_task(ex.watch_orders("BTC/USDT"))
        balance = asyncio.create_task(ex.watch_balance())
        await asyncio.sleep(1.0)  # the subscription answered
        resting = await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 50000)
        seen = await asyncio.wait_for(orders, WAIT)
        assert seen[-1]["id"] == resting["id"]
        assert seen[-1]["status"] == "open"
        funds = await asyncio.wait_for(balance, WAIT)
        assert funds["USDT"]["used"] == pytest.approx(50.05, abs=0.06)  # the limit's reservation, fee included

        my_trades = asyncio.create_task(ex.watch_my_trades("BTC/USDT"))
        updates = asyncio.create_task(ex.watch_orders("BTC/USDT"))  # each watch waits for the next update
        await asyncio.sleep(0.5)
        await asyncio.to_thread(native.price, "BTC/USDT", "49990", bid="49989", ask="49990")
        fills = await asyncio.wait_for(my_trades, WAIT)
        assert fills[-1]["order"] == resting["id"]
        assert fills[-1]["price"] == 50000
        assert fills[-1]["amount"] == 0.001
        assert fills[-1]["takerOrMaker"] == "maker"
        filled = await asyncio.wait_for(updates, WAIT)
        assert filled[-1]["id"] == resting["id"]
        assert filled[-1]["status"] == "closed"

        placed = await asyncio.wait_for(ex.create_order_ws("BTC/USDT", "limit", "buy", 0.001, 40000), WAIT)
        assert placed["status"] == "open"
        fetched = await asyncio.wait_for(ex.fetch_order_ws(placed["id"], "BTC/USDT"), WAIT)
        assert fetched["id"] == placed["id"]
        canceled = await asyncio.wait_for(ex.cancel_order_ws(placed["id"], "BTC/USDT"), WAIT)
        assert canceled["status"] == "canceled"
        # ccxt 4.5.90 parses account.status of spot as a futures answer (by its "assets"), as it would against
        # Binance itself: the balances are in what Binance sends, the info.
        wallet = await asyncio.wait_for(ex.fetch_balance_ws(), WAIT)
        rows = {row["asset"]: row for row in wallet["info"]["balances"]}
        assert rows["BTC"]["free"] == "2.00100000"
        assert rows["USDT"]["locked"] == "0.00000000"
        native_order = native.get(f"/orders/{placed['id']}")
        assert native_order["status"] == "canceled"
    finally:
        await ex.close()


async def test_a_reconnecting_bot_resyncs_and_refetches_what_it_missed(binance: tuple[str, Native]) -> None:
    base, native = binance
    first = _pro(base)
    await first.load_markets()
    async with moving(native):
        await asyncio.wait_for(first.watch_order_book("BTC/USDT"), WAIT)
        await first.close()  # the bot's connection drops; the market goes on, and so do its other clients
        missed = native.post("/orders", {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": "0.001",
                                         "price": "50000"})  # fmt: skip
        await asyncio.sleep(0.5)
        again = _pro(base)
        try:
            await again.load_markets()
            for _ in range(5):  # a fresh snapshot plus the diffs after it, chained without a gap
                await asyncio.wait_for(again.watch_order_book("BTC/USDT"), WAIT)
            open_orders = await again.fetch_open_orders("BTC/USDT")
        finally:
            await again.close()
    assert [o["id"] for o in open_orders] == [missed["id"]]
