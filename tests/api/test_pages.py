"""Paged lists through the real app: the Link header, whole walks in both directions while orders arrive."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.engine.exchange import Exchange
from tests.support.http import error, fund, set_price

LINK = re.compile(r'^<([^>]+)>; rel="next"$')


@pytest.fixture
async def seeded(client: Any, exchange: Exchange) -> Exchange:
    """The app's account (through the ``exchange`` fixture, same namespace), funded and priced."""
    await fund(client, "USDT", 10_000_000)
    await set_price(client, "BTC/USDT", 100)
    await set_price(client, "ETH/USDT", 10)
    return exchange


async def fills(ex: Exchange, count: int, symbol: str = "BTC/USDT") -> None:
    await ex.place_copies(await ex.plan_order(symbol, "buy", "market", "0.01", None, None, None), count)


def next_url(r: Any) -> str | None:
    link = r.headers.get("link")
    if link is None:
        return None
    match = LINK.match(link)
    assert match, link
    return match.group(1)


async def walk(client: Any, url: str, between: Any = None) -> list[list[int]]:
    """Every page from ``url`` on, following the Link headers; the ids of each page. ``between()`` is awaited
    after each page (new orders arriving in the middle of the walk)."""
    pages: list[list[int]] = []
    next_: str | None = url
    while next_ is not None:
        r = await client.get(next_)
        assert r.status_code == 200, r.text
        page = [int(o["id"]) for o in r.json()]
        assert page == sorted(page)  # each page oldest first
        pages.append(page)
        next_ = next_url(r)
        if between is not None:
            await between()
    return pages


async def test_the_link_header_gives_the_next_page_with_the_same_query(client: Any, seeded: Exchange) -> None:
    await fills(seeded, 5)
    r = await client.get("/orders", params={"limit": 2, "status": "closed", "symbol": "BTC/USDT"})
    assert [o["id"] for o in r.json()] == ["4", "5"]
    query = parse_qs(urlsplit(next_url(r) or "").query)
    assert query == {"limit": ["2"], "status": ["closed"], "symbol": ["BTC/USDT"], "toId": ["3"]}
    r = await client.get("/orders", params={"limit": 2, "fromId": 2})
    assert [o["id"] for o in r.json()] == ["2", "3"]
    assert parse_qs(urlsplit(next_url(r) or "").query) == {"limit": ["2"], "fromId": ["4"]}
    last = await client.get("/orders", params={"limit": 2, "fromId": 4})
    assert ([o["id"] for o in last.json()], next_url(last)) == (["4", "5"], None)
    assert next_url(await client.get("/orders")) is None
    r = await client.get("/trades", params={"limit": 3})
    assert [t["order"] for t in r.json()] == ["3", "4", "5"]
    assert "toId=" in (next_url(r) or "")
    r = await client.get("/trades", params={"limit": 3, "since": 0})
    assert [t["order"] for t in r.json()] == ["1", "2", "3"]
    assert "fromId=" in (next_url(r) or "")
    assert next_url(await client.get("/trades")) is None


async def test_limit_bounds_and_bad_cursors_are_400(client: Any, seeded: Exchange) -> None:
    await fills(seeded, 3)
    assert len((await client.get("/orders", params={"limit": 1000})).json()) == 3
    for path in ("/orders", "/trades"):
        for query in ("limit=0", "limit=1001", "limit=-1", "limit=x", "tail=1001", "limit=1&tail=2", "fromId=-1",
                      "toId=abc", "since=-5", "until=-1"):  # fmt: skip
            error(await client.get(f"{path}?{query}"), 400, "BadRequest")
    for name in ("fromId", "toId"):  # the parameter is named as the client sent it, not as the handler's argument
        message = error(await client.get(f"/orders?{name}=-1"), 400, "BadRequest")
        assert f"query parameter {name!r}: Expected `int` >= 0" in message, message
    assert [o["id"] for o in (await client.get("/orders?tail=1")).json()] == ["3"]
    assert (await client.get("/orders", params={"fromId": 10**18})).json() == []


async def test_walks_see_every_order_once_in_both_directions_while_orders_arrive(client: Any, seeded: Exchange) -> None:
    await fills(seeded, 1200)
    await fills(seeded, 300, "ETH/USDT")
    existing = set(range(1, 1501))
    stop = asyncio.Event()
    placed: list[str] = []

    async def one() -> None:
        placed.append((await seeded.create_order("BTC/USDT", "buy", "market", "0.01")).id)

    async def place() -> None:
        while not stop.is_set():
            await one()
            await asyncio.sleep(0)

    placing = asyncio.create_task(place())  # orders arrive all along, and at least one between two pages
    try:
        newest_first = await walk(client, "/orders?limit=97", one)
        oldest_first = await walk(client, "/orders?limit=89&fromId=0", one)
        btc = await walk(client, "/orders?limit=50&symbol=BTC/USDT&status=closed", one)
    finally:
        stop.set()
        await placing
    assert len(placed) > 10  # the walks ran while orders arrived
    seen = [i for page in newest_first for i in page]
    assert len(seen) == len(set(seen)) == 1500  # nothing placed after the first page was read appears
    assert set(seen) == existing
    assert [p[0] for p in newest_first] == sorted((p[0] for p in newest_first), reverse=True)
    seen = [i for page in oldest_first for i in page]
    assert len(seen) == len(set(seen))
    assert existing <= set(seen)  # and the orders placed meanwhile, each once
    assert seen == sorted(seen)
    seen = [i for page in btc for i in page]
    assert len(seen) == len(set(seen))
    assert set(range(1, 1201)) <= set(seen)
    assert not set(range(1201, 1501)) & set(seen)


async def test_trade_walks_see_every_trade_once(client: Any, seeded: Exchange) -> None:
    await fills(seeded, 250)
    pages = await walk(client, "/trades?limit=40")
    seen = [i for page in pages for i in page]
    assert len(seen) == len(set(seen)) == 250
    pages = await walk(client, "/trades?limit=60&since=0")
    assert sorted(i for page in pages for i in page) == sorted(seen)
