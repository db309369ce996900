"""Event cursors (``since`` / ``Last-Event-ID``) that name no event: refused before the stream starts, or, when the
capped stream has trimmed events after them, told so with a first ``gap`` event (SSE and WebSocket alike).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import websockets
from redis.asyncio import Redis

from app.api import create_app
from app.settings import Settings
from app.store.keys import Keys
from tests.support.hostile import BAD_CURSORS
from tests.support.http import LiveServer, error, fund


async def _first_data(response: httpx.Response) -> dict[str, Any]:
    """The first SSE message with data (comments and the opening message skipped)."""
    fields: dict[str, str] = {}
    async with asyncio.timeout(10):
        async for line in response.aiter_lines():
            if line == "":
                if "data" in fields:
                    return {"event": fields.get("event"), "id": fields.get("id"), "data": json.loads(fields["data"])}
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
    raise AssertionError("the stream ended")


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[tuple[LiveServer, httpx.AsyncClient, Settings]]:
    """An app whose events stream is capped at about 10 entries (trimmed a whole node at a time)."""
    capped = msgspec.structs.replace(settings, events_maxlen=10)
    server = LiveServer(create_app(capped)).start()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
        yield server, api, capped
    server.stop()


def _ws(server: LiveServer, query: str) -> str:
    return server.url.replace("http", "ws") + "/events/ws" + query


@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_a_cursor_that_is_no_event_id_is_400(live: LiveServer, cursor: str) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as api:
        error(await api.get("/events", params={"since": cursor}), 400, "BadRequest")
        if cursor.isascii() and cursor == cursor.strip():  # what an HTTP header can carry
            error(await api.get("/events", headers={"Last-Event-ID": cursor}), 400, "BadRequest")


async def test_a_cursor_in_the_future_is_400_naming_the_newest_id(live: LiveServer, settings: Settings) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as api:
        await fund(api, "USDT", 1)
        redis = Redis.from_url(settings.redis_url or "", decode_responses=True)
        newest = (await redis.xrevrange(Keys(settings.namespace).events, count=1))[0][0]
        await redis.aclose()
        ms = int(newest.split("-")[0])
        for future in (f"{ms + 60_000}-0", str(ms + 1), f"{ms}-999"):
            message = error(await api.get("/events", params={"since": future}), 400, "BadRequest")
            assert f"after the newest event, {newest}" in message
        async with api.stream("GET", "/events", params={"since": newest}) as ok:  # the newest itself is fine
            assert ok.status_code == 200
        async with websockets.connect(_ws(live, f"?since={ms + 60_000}-0"), open_timeout=5) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
        assert "after the newest event" in closed.value.rcvd.reason


async def test_a_cursor_older_than_the_stream_holds_gets_a_gap_first(
    small: tuple[LiveServer, httpx.AsyncClient, Settings],
) -> None:
    server, api, settings = small
    await fund(api, "USDT", 1)
    redis = Redis.from_url(settings.redis_url or "", decode_responses=True)
    key = Keys(settings.namespace).events
    oldest = (await redis.xrange(key, count=1))[0][0]
    for _ in range(300):  # far past the cap: whole nodes of old entries are trimmed
        await redis.xadd(key, {"type": "exchange.reset", "data": "{}"}, maxlen=10, approximate=True)
    first = (await redis.xrange(key, count=1))[0][0]
    await redis.aclose()
    assert first != oldest

    async with api.stream("GET", "/events", params={"since": oldest}) as stream:
        assert stream.status_code == 200
        gap = await _first_data(stream)
    assert gap["event"] == "gap"
    assert gap["id"] is None  # a client's Last-Event-ID stays its own
    assert gap["data"]["type"] == "gap"
    assert gap["data"]["since"] == oldest
    assert gap["data"]["first"] == first
    assert "no longer held" in gap["data"]["message"]
    assert first in gap["data"]["message"]

    async with websockets.connect(_ws(server, f"?since={oldest}"), open_timeout=5) as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame == gap["data"]

    # a cursor the stream still holds, or since=all, gets no gap: the first thing is an event
    async with api.stream("GET", "/events", params={"since": "all"}) as stream:
        assert (await _first_data(stream))["event"] != "gap"
    async with api.stream("GET", "/events", params={"since": first}) as stream:
        assert (await _first_data(stream))["event"] != "gap"
