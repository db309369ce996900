"""The one transport: the multiplexed link (ordering, errors as redis-py raises them, healing), scripts, batches."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.store.embedded import EmbeddedValkey
from app.store.transport import Link, open_link
from tests.support.ports import free_port


async def test_concurrent_commands_get_their_own_replies(valkey_url: str, namespace: str) -> None:
    link = open_link(valkey_url)
    assert link is not None
    key = "{" + namespace + "}:n"
    try:
        replies = await asyncio.gather(*(link.call("INCR", key) for _ in range(500)))
        assert sorted(replies) == list(range(1, 501))
        assert await link.pipeline(("SET", key + "s", "é"), ("GET", key + "s"), ("HGET", key + "h", "x")) == [
            "OK",
            "é",
            None,
        ]
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await link.call("HGET", key, "f")
        with pytest.raises(NoScriptError):
            await link.call("EVALSHA", "0" * 40, 0)
        assert await link.call("PING") == "PONG"  # an error reply does not shift the pairing
    finally:
        await link.aclose()


def test_urls() -> None:
    assert open_link("rediss://example:6380") is None  # TLS stays with redis-py
    for url in ("redis://h:1/2", "valkey://u:p@h:1?db=3", "unix:///tmp/x.sock"):
        assert isinstance(open_link(url), Link)


async def test_refused_then_healed_without_a_new_link(tmp_path: Path) -> None:
    port = free_port()
    link = open_link(f"redis://127.0.0.1:{port}", timeout=1)
    assert link is not None
    with pytest.raises(RedisConnectionError):
        await link.call("PING")
    server = EmbeddedValkey(tmp_path, port=port, persist=False)
    server.start()
    try:
        assert await link.call("PING") == "PONG"
        server.stop()
        with pytest.raises(RedisConnectionError):
            await link.call("PING")
        server.start()
        assert await link.call("PING") == "PONG"
    finally:
        await link.aclose()
        server.stop()


async def test_a_late_reply_times_out_and_keeps_the_pairing(valkey_url: str) -> None:
    link = open_link(valkey_url, timeout=0.2)
    assert link is not None
    try:
        with pytest.raises(RedisTimeoutError):
            await link.call("BLPOP", "{nothing}:here", 1)  # answers after 1 s
        link.timeout = 5
        assert await link.call("ECHO", "next") == "next"  # gets its own reply, not the late nil
    finally:
        await link.aclose()


def test_error_replies_become_redis_py_exceptions() -> None:
    from redis.exceptions import BusyLoadingError, ReadOnlyError

    from app.store.transport import reply_error

    assert type(reply_error("NOSCRIPT No matching script.")) is NoScriptError
    assert isinstance(reply_error("LOADING Valkey is loading the dataset in memory"), BusyLoadingError)
    assert isinstance(reply_error("LOADING x"), RedisConnectionError)  # transient, as redis-py has it
    assert isinstance(reply_error("READONLY You can't write against a read only replica."), ReadOnlyError)
    assert isinstance(reply_error("ERR max number of clients reached"), RedisConnectionError)
    error = reply_error("ERR unknown command 'NOPE'")
    assert type(error) is ResponseError
    assert str(error) == "unknown command 'NOPE'"
    assert str(reply_error("WRONGTYPE Operation against a key")) == "WRONGTYPE Operation against a key"


@pytest.mark.parametrize("multiplexed", [True, False], ids=["link", "redis-py"])
async def test_a_batch_heals_noscript_and_sends_again_only_what_was_missing(
    valkey_url: str, namespace: str, multiplexed: bool
) -> None:
    from app.store.transport import Script, Transport, redis_client

    redis = redis_client(valkey_url)
    transport = Transport(redis, open_link(valkey_url) if multiplexed else None)
    incr = Script("incr", f"-- {namespace}\nreturn redis.call('INCR', KEYS[1])")
    key = "{" + namespace + "}:n"
    try:
        await transport.load([incr])
        calls = [transport.script_call(incr, [key], []), transport.plain_call("INCR", key)]
        sent = await transport.send(calls)  # sent now, read later
        assert await transport.receive(sent) == [1, 2]

        await redis.script_flush()
        calls = [transport.script_call(incr, [key], []), transport.plain_call("HGET", key, "x"), calls[0]]
        replies = await transport.execute(calls)
        assert replies[0] == 3
        assert replies[2] == 4
        assert isinstance(replies[1], ResponseError)  # an error reply stays in its place
        assert await redis.get(key) == "4"

        await redis.script_flush()
        assert await transport.run(incr, [key], []) == 5
    finally:
        await transport.aclose()
