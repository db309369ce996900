"""Live events over a real socket: SSE with resume by Last-Event-ID, filters, and the WebSocket twin."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from app.settings import Settings
from app.store.keys import Keys
from tests.support.http import LiveServer, error, fund, set_price
from tests.support.sse import sse, take


def _filled(order_id: str) -> Any:
    return lambda seen: any(e["event"] == "order.filled" and e["data"]["data"]["order"]["id"] == order_id for e in seen)


async def test_sse_sees_created_and_filled_then_resumes_with_exactly_the_missed_events(
    live: LiveServer, settings: Settings, redis: Redis
) -> None:
    events_key = Keys(settings.namespace).events
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        await fund(http, "USDT", 10000)
        await set_price(http, "BTC/USDT", 100)
        async with http.stream("GET", "/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = sse(stream)
            order = (
                await http.post(
                    "/orders", json={"symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": 1, "price": 99}
                )
            ).json()
            await set_price(http, "BTC/USDT", 98)
            seen = await take(events, _filled(order["id"]))
        mine = [e for e in seen if e["event"].startswith("order.") and e["data"]["data"]["order"]["id"] == order["id"]]
        assert [e["event"] for e in mine] == ["order.created", "order.filled"]
        created, filled = (e["data"] for e in mine)
        assert created["type"] == "order.created"
        assert created["id"] == mine[0]["id"]
        assert created["data"]["order"]["status"] == "open"
        assert created["data"]["order"]["price"] == 99
        assert filled["data"]["order"]["status"] == "closed"
        assert filled["data"]["trade"]["takerOrMaker"] == "maker"
        assert filled["data"]["trade"]["cost"] == 99
        assert filled["data"]["trade"]["fee"]["cost"] == 0.07425
        last_seen = seen[-1]["id"]

        # disconnected: more happens
        market = (await http.post("/orders", json={"symbol": "BTC/USDT", "side": "sell", "amount": "0.5"})).json()
        await http.post("/balance/ETH/deposit", json={"amount": 2})
        missed = [entry_id for entry_id, _ in await redis.xrange(events_key, min=f"({last_seen}", max="+")]
        assert len(missed) >= 4

        async with http.stream("GET", "/events", headers={"Last-Event-ID": last_seen}) as stream:
            events = sse(stream)
            resumed = await take(events, lambda seen: len(seen) >= len(missed))
            assert [e["id"] for e in resumed] == missed
            of_market = [
                e["event"]
                for e in resumed
                if "order" in e["data"]["data"] and e["data"]["data"]["order"]["id"] == market["id"]
            ]
            assert of_market == ["order.created", "order.filled"]
            assert resumed[-1]["event"] == "balance.changed"
            assert resumed[-1]["data"]["data"]["assets"]["ETH"] == {"free": 2, "used": 0, "total": 2}
            with pytest.raises(TimeoutError):  # and nothing more: no duplicate, no replay
                await take(events, lambda seen: True, seconds=0.5)


async def test_sse_filters_and_replay_from_the_start(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        await fund(http, "USDT", 10000)
        await set_price(http, "BTC/USDT", 100)
        await set_price(http, "ETH/USDT", 10)
        await http.post("/orders", json={"symbol": "ETH/USDT", "side": "buy", "amount": 1})
        btc = (await http.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1})).json()
        params = {"since": "all", "types": "order.filled", "symbol": "BTCUSDT"}
        async with http.stream("GET", "/events", params=params) as stream:
            (only,) = await take(sse(stream), lambda seen: len(seen) >= 1)
        assert only["event"] == "order.filled"
        assert only["data"]["data"]["order"]["id"] == btc["id"]
        async with http.stream("GET", "/events", params={"since": "all", "types": "balance"}) as stream:
            seen = await take(sse(stream), lambda seen: len(seen) >= 3)
        assert {e["event"] for e in seen} == {"balance.changed"}
        async with http.stream("GET", "/events", params={"since": "all", "types": "ticker.*,market"}) as stream:
            seen = await take(sse(stream), lambda seen: len(seen) >= 4)
        assert {e["event"] for e in seen} == {"ticker.updated", "market.created"}
        ticker = next(e for e in seen if e["event"] == "ticker.updated")["data"]["data"]["ticker"]
        assert ticker["symbol"] == "BTC/USDT"
        assert ticker["last"] == 100

        error(await http.get("/events", headers={"Last-Event-ID": "yesterday"}), 400, "BadRequest")
        error(await http.get("/events", params={"since": "99999999999999999999-0"}), 400, "BadRequest")
        error(await http.get("/events", params={"types": "DROP TABLE"}), 400, "BadRequest")
        error(await http.get("/events", params={"symbol": "??"}), 400, "BadSymbol")


async def test_websocket_twin_streams_the_same_events(live: LiveServer, settings: Settings, redis: Redis) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        await fund(http, "USDT", 1000)
        await set_price(http, "BTC/USDT", 100)
        order = (await http.post("/orders", json={"symbol": "BTC/USDT", "side": "buy", "amount": 1})).json()
    stream = await redis.xrange(Keys(settings.namespace).events, min="-", max="+")
    url = live.url.replace("http", "ws") + "/events/ws?since=all"
    async with websockets.connect(url, open_timeout=5) as ws:
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in stream]
    assert [f["id"] for f in frames] == [entry_id for entry_id, _ in stream]
    filled = next(f for f in frames if f["type"] == "order.filled")
    assert filled["data"]["order"]["id"] == order["id"]
    assert filled["data"]["order"]["cost"] == 100
    async with websockets.connect(live.url.replace("http", "ws") + "/events/ws?since=nope", open_timeout=5) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
