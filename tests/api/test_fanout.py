"""Fan-out: one event hub per API process serves hundreds of subscribers from one reader.

Every subscriber gets every event exactly once and in order (each shard's order, with several shards); one
that reads nothing is closed with its last id, and resuming from that id loses nothing and repeats nothing;
the others are not affected; and the hub's reads of Valkey do not grow with its subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest
import websockets
from litestar import Litestar
from redis.asyncio import Redis

from app.api import create_app
from app.api.common.hub import EventHub
from app.settings import Settings
from app.store.embedded import redis_client
from app.store.keys import Keys
from tests.support.accounts import make_account, names_on_every_shard
from tests.support.http import LiveServer, set_price
from tests.support.sse import messages
from tests.support.waiting import eventually
from tests.support.ws import RawWebSocket

SUBSCRIBERS = 200
ORDERS_PER_ACCOUNT = 15
MARKET_BUY = {"symbol": "BTC/USDT", "side": "buy", "amount": "0.01"}


@contextlib.contextmanager
def _serving(settings: Settings, send_buffer: int | None = None) -> Iterator[tuple[LiveServer, Litestar]]:
    app = create_app(settings)
    server = LiveServer(app, send_buffer=send_buffer).start()
    try:
        yield server, app
    finally:
        server.stop()


def _hub(app: Litestar) -> EventHub[Any]:
    hub: EventHub[Any] = app.state.hub
    return hub


async def _calls(redis: Redis, *commands: str) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {c: int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in commands}


async def _expected(redis: Redis, settings: Settings, start: str) -> list[list[str]]:
    """Per shard, the ids of the entries after ``start`` (a composite cursor) that its events stream holds."""
    keys = [Keys(settings.namespace, shard).events for shard in range(settings.shards)]
    return [
        [entry_id for entry_id, _ in await redis.xrange(key, min=f"({pos}", max="+")]
        for key, pos in zip(keys, start.split(","), strict=True)
    ]


def _per_shard(start: str, ids: list[str]) -> list[list[str]]:
    """The entry ids, per shard, that composite ids carry: each id moves exactly one shard's position on."""
    previous = start.split(",")
    out: list[list[str]] = [[] for _ in previous]
    for composite in ids:
        current = composite.split(",")
        moved = [s for s, (a, b) in enumerate(zip(previous, current, strict=True)) if a != b]
        assert len(moved) == 1, (previous, current)
        out[moved[0]].append(current[moved[0]])
        previous = current
    return out


async def _accounts(http: httpx.AsyncClient, shards: int) -> list[str]:
    names = names_on_every_shard(shards, per_shard=max(1, 3 // shards))
    for name in names:
        await make_account(http, name, headers={}, balances={"USDT": 100000})
    await set_price(http, "BTC/USDT", 100)
    return names


async def _burst(http: httpx.AsyncClient, names: list[str], orders: int) -> None:
    """``orders`` market orders of each account, all at once."""
    replies = await asyncio.gather(
        *(http.post("/orders", params={"account": n}, json=MARKET_BUY) for n in names for _ in range(orders))
    )
    assert {r.status_code for r in replies} == {201}, [r.text for r in replies if r.status_code != 201][:3]


class Reader:
    """One subscriber reading its stream into :attr:`seen` (every message but the opening one)."""

    def __init__(self, stream: httpx.Response) -> None:
        self.messages = messages(stream)
        self.opening: str = ""
        self.seen: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> Reader:
        first = await asyncio.wait_for(anext(self.messages), 10)
        assert first["data"] is None
        assert first["id"]
        self.opening = first["id"]
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for message in self.messages:
            self.seen.append(message)

    @property
    def ids(self) -> list[str]:
        return [m["id"] for m in self.seen if m["event"] != "closed"]


@contextlib.asynccontextmanager
async def _subscribers(http: httpx.AsyncClient, count: int, **params: str) -> AsyncIterator[list[Reader]]:
    async with contextlib.AsyncExitStack() as stack:
        readers = []
        for _ in range(count):
            stream = await stack.enter_async_context(http.stream("GET", "/events", params=params))
            assert stream.status_code == 200
            readers.append(await Reader(stream).open())
        try:
            yield readers
        finally:
            for reader in readers:
                assert reader.task is not None
                reader.task.cancel()
            await asyncio.gather(*(r.task for r in readers if r.task is not None), return_exceptions=True)


@pytest.mark.parametrize("shards", [1, 3], ids=["one-shard", "three-shards"])
async def test_every_subscriber_gets_every_event_once_in_order_from_one_reader(
    settings: Settings, own_valkey: str, shards: int
) -> None:
    own = msgspec.structs.replace(settings, redis_url=own_valkey, shards=shards)
    redis = redis_client(own_valkey)
    limits = httpx.Limits(max_connections=SUBSCRIBERS + 20, max_keepalive_connections=20)
    try:
        with _serving(own) as (server, app):
            async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
                names = await _accounts(http, shards)
                async with _subscribers(http, SUBSCRIBERS, account="*") as readers:
                    hub = _hub(app)
                    await eventually(lambda: hub.live == SUBSCRIBERS, what="every subscriber live", seconds=20)
                    start = readers[0].opening
                    assert {r.opening for r in readers} == {start}
                    before = await _calls(redis, "xrange", "xread")

                    await _burst(http, names, ORDERS_PER_ACCOUNT)
                    expected = await _expected(redis, own, start)
                    total = sum(len(ids) for ids in expected)
                    assert total >= 3 * ORDERS_PER_ACCOUNT * len(names)  # created, filled, balance per order
                    await eventually(
                        lambda: all(len(r.seen) >= total for r in readers), what="every event everywhere", seconds=60
                    )
                    await asyncio.sleep(0.3)  # and nothing more arrives
                    after = await _calls(redis, "xrange", "xread")

                    for reader in readers:
                        assert len(reader.seen) == total
                        assert _per_shard(start, reader.ids) == expected  # every event once, each shard in order
                    first = readers[0].seen
                    assert all(r.seen == first for r in readers)  # the same events, the same bytes
                    assert after["xrange"] - before["xrange"] == shards  # this test's own reads: no subscriber's
                    assert after["xread"] - before["xread"] <= total + 10 * shards  # one reader, not one per client
    finally:
        await redis.aclose()


def _small_window() -> httpx.AsyncHTTPTransport:
    """A client socket with a small receive buffer: a subscriber that stops reading stalls its stream soon."""
    return httpx.AsyncHTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)])


async def test_a_subscriber_that_reads_nothing_is_closed_with_its_last_id_and_resumes_losing_nothing(
    settings: Settings, redis: Redis
) -> None:
    own = msgspec.structs.replace(settings, events_queue=50)
    with _serving(own, send_buffer=16384) as (server, app):
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
            httpx.AsyncClient(base_url=server.url, timeout=30, transport=_small_window()) as stalled,
        ):
            names = await _accounts(http, 1)
            every = {"account": "*"}
            async with (
                stalled.stream("GET", "/events", params=every) as slow_stream,
                _subscribers(http, 5, **every) as healthy,
            ):
                slow = messages(slow_stream)
                opening = (await asyncio.wait_for(anext(slow), 10))["id"]
                hub = _hub(app)
                await eventually(lambda: hub.live == 6, what="every subscriber live", seconds=20)

                for _ in range(12):  # far more than its queue and the socket buffers hold
                    await _burst(http, names, 10)
                (expected,) = await _expected(redis, own, opening)
                await eventually(lambda: all(len(r.seen) >= len(expected) for r in healthy), what="the healthy ones")
                assert hub.live == 5  # the stalled one was dropped from the hub

                got: list[dict[str, Any]] = []
                async with asyncio.timeout(20):
                    async for message in slow:  # reading again: what was queued, then the notice, then the end
                        got.append(message)
            closed = got[-1]
            assert closed["event"] == "closed"
            assert closed["id"] is None
            assert closed["data"]["type"] == "closed"
            assert "too slow" in closed["data"]["reason"]
            received = [m["id"] for m in got[:-1]]
            assert all(m["event"] != "closed" for m in got[:-1])
            assert closed["data"]["lastId"] == (received[-1] if received else opening)
            assert received == expected[: len(received)]  # in order, nothing twice
            assert len(received) < len(expected)  # it was cut

            for reader in healthy:  # the others were not affected
                assert reader.ids == expected

            headers = {"Last-Event-ID": closed["data"]["lastId"]}
            async with http.stream("GET", "/events", params=every, headers=headers) as resumed:
                rest: list[str] = []
                stream = messages(resumed)
                assert (await anext(stream))["id"] == closed["data"]["lastId"]  # the opening message
                async with asyncio.timeout(20):
                    async for message in stream:
                        rest.append(message["id"])
                        if len(received) + len(rest) >= len(expected):
                            break
            assert received + rest == expected  # nothing lost, nothing twice


async def test_a_websocket_that_reads_nothing_gets_a_closed_frame_and_1013_then_resumes(
    settings: Settings, redis: Redis
) -> None:
    own = msgspec.structs.replace(settings, events_queue=50)
    key = Keys(own.namespace).events
    with _serving(own, send_buffer=16384) as (server, app):
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            names = await _accounts(http, 1)
            start = (await redis.xrevrange(key, count=1))[0][0]
            hub = _hub(app)
            ws = await RawWebSocket.open(server.url, "/events/ws?account=*")
            try:
                await eventually(lambda: hub.live == 1, what="the socket subscribed")
                for _ in range(12):
                    await _burst(http, names, 10)
                await eventually(lambda: hub.live == 0, what="the stalled socket dropped from the hub")
                frames: list[dict[str, Any]] = []
                async with asyncio.timeout(20):
                    opcode, payload = await ws.frame()
                    while opcode == 1:
                        frames.append(json.loads(payload))
                        opcode, payload = await ws.frame()
            finally:
                ws.close()
            assert opcode == 8
            assert int.from_bytes(payload[:2], "big") == 1013
            assert payload[2:].decode().startswith("too slow")
            notice, received = frames[-1], [f["id"] for f in frames[:-1]]
            assert notice["type"] == "closed"
            assert notice["lastId"] == received[-1]
            (expected,) = await _expected(redis, own, start)
            assert received == expected[: len(received)]
            assert len(received) < len(expected)

            url = server.url.replace("http", "ws") + f"/events/ws?account=*&since={notice['lastId']}"
            async with websockets.connect(url, open_timeout=5) as resumed:
                rest = [json.loads(await asyncio.wait_for(resumed.recv(), 10))["id"] for _ in expected[len(received) :]]
            assert received + rest == expected
