"""Real ``mockx worker`` processes: external publishers, health checks, SIGTERM, kill -9, a Valkey restart."""

from __future__ import annotations

import os
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from redis.asyncio import Redis

from app.engine.exchange import Exchange
from app.settings import Settings
from app.store.embedded import EmbeddedValkey
from app.workers.options import heartbeat_decoder
from tests.support.money import money_problems, snapshot
from tests.support.ports import free_port
from tests.support.processes import MOCKX, Processes, exited
from tests.support.valkey import stream_done
from tests.support.waiting import wait_until

GROUP = "settlement"


async def started(redis: Redis, ex: Exchange, name: str) -> None:
    async def beating() -> bool:
        return bool(await redis.exists(ex.keys.heartbeat(name)))

    await wait_until(beating, f"the heartbeat of worker {name}")


def check(env: dict[str, str], name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MOCKX, "worker", "--check", "--name", name], env=env, capture_output=True, text=True, timeout=20
    )


async def test_a_plain_xadd_fills_a_resting_order_and_sigterm_exits_cleanly(
    exchange: Exchange, redis: Redis, settings: Settings, procs: Processes, subprocess_env: dict[str, str]
) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("SOL/USDT", "20")
    order = await exchange.create_order("SOL/USDT", "buy", "limit", "3", "19.5")
    assert check(subprocess_env, "p1").returncode == 1

    worker = procs.start("worker", "--name", "p1", "--block-ms", "200")
    await started(redis, exchange, "p1")
    await redis.xadd(settings.price_stream, {"symbol": "SOL/USDT", "price": "19.4"}, maxlen=100_000, approximate=True)

    async def filled() -> bool:
        return (await exchange.fetch_order(order.id)).status == "closed"

    await wait_until(filled, "the order to fill")
    healthy = check(subprocess_env, "p1")
    assert healthy.returncode == 0, healthy.stderr
    assert heartbeat_decoder.decode(healthy.stdout).name == "p1"

    worker.send_signal(signal.SIGTERM)
    assert await exited(worker) == 0
    summary = msgspec.json.decode(procs.output(worker).strip().splitlines()[-1])
    assert summary["filled"] == 1
    assert await redis.exists(exchange.keys.heartbeat("p1")) == 0
    assert check(subprocess_env, "p1").returncode == 1
    assert await money_problems(exchange) == []


async def _ladder(ex: Exchange, rungs: int) -> None:
    """Resting buys at 99, 98.9, ... and sells at 101, 101.1, ... around a price of 100."""
    await ex.deposit("USDT", "100000")
    await ex.deposit("BTC", "100")
    await ex.push_price("BTC/USDT", "100")
    for i in range(rungs):
        await ex.create_order("BTC/USDT", "buy", "limit", "0.5", Decimal(99) - Decimal(i) / 10)
        await ex.create_order("BTC/USDT", "sell", "limit", "0.25", Decimal(101) + Decimal(i) / 10)


def _path(steps: int) -> list[str]:
    """Down through the buys, then up through the sells, then back to the middle."""
    down = [str(Decimal("99.95") - Decimal(i) * Decimal("0.15")) for i in range(steps)]
    up = [str(Decimal("100.05") + Decimal(i) * Decimal("0.15")) for i in range(steps)]
    return down + up + ["100"]


async def test_kill_9_with_pending_entries_every_fill_happens_exactly_once(
    exchange: Exchange, redis: Redis, settings: Settings, procs: Processes
) -> None:
    stream = settings.price_stream
    ns = settings.namespace
    reference = await Exchange.open(msgspec.structs.replace(settings, namespace=ns + "r", price_stream=ns + "r:p"))
    try:
        for ex in (exchange, reference):
            await _ladder(ex, 30)
        ticks = _path(30)
        victim = procs.start("worker", "--name", "victim", "--block-ms", "4000", "--claim-every", "60")
        survivor = procs.start(
            "worker", "--name", "survivor", "--block-ms", "4000", "--claim-idle-ms", "300", "--claim-every", "0.1"
        )
        await started(redis, exchange, "victim")
        await started(redis, exchange, "survivor")

        async def both_waiting() -> bool:
            clients = await redis.client_list()
            return sum(1 for c in clients if c["cmd"] == "xreadgroup" and "b" in c["flags"]) >= 2

        # Freeze the victim while it waits in XREADGROUP: Valkey still hands it the next entries.
        await wait_until(both_waiting, "both workers to wait in XREADGROUP")
        os.kill(victim.pid, signal.SIGSTOP)
        while not await both_waiting():  # stopped between two reads: let it block again
            os.kill(victim.pid, signal.SIGCONT)
            await wait_until(both_waiting, "both workers to wait in XREADGROUP")
            os.kill(victim.pid, signal.SIGSTOP)
        held = 0
        while held == 0:
            assert len(ticks) > 20, "the victim never received entries"
            batch, ticks = ticks[:8], ticks[8:]
            async with redis.pipeline(transaction=True) as pipe:
                for price in batch:
                    pipe.xadd(stream, {"symbol": "BTC/USDT", "price": price})
                await pipe.execute()
            for price in batch:
                await reference.push_price("BTC/USDT", price)

            async def delivered() -> bool:
                info = {g["name"]: g for g in await redis.xinfo_groups(stream)}[GROUP]
                return bool(info["lag"] == 0)

            await wait_until(delivered, "the batch to be delivered")
            victims = await redis.xpending_range(stream, GROUP, "-", "+", 100, consumername="victim")
            held = len(victims)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()

        for price in ticks:
            await redis.xadd(stream, {"symbol": "BTC/USDT", "price": price})
            await reference.push_price("BTC/USDT", price)

        await wait_until(lambda: stream_done(redis, stream), "the survivor to apply every entry", 30)
        assert held == 8
        assert await money_problems(exchange) == []
        assert await money_problems(reference) == []
        assert await snapshot(exchange, trade_times=False) == await snapshot(reference, trade_times=False)
        state = await snapshot(exchange)
        assert len(state["trades"]) == 60  # every rung crossed once: 30 buys and 30 sells
        assert (await exchange.fetch_ticker("BTC/USDT")).last == Decimal(100)
        assert int(await redis.hget(exchange.keys.worker_stats, "claimed") or 0) >= held
        assert survivor.poll() is None
    finally:
        await reference.close()


async def test_workers_reconnect_after_a_valkey_restart_with_aof(
    tmp_path: Path, procs: Processes, subprocess_env: dict[str, str], namespace: str
) -> None:
    server = EmbeddedValkey(tmp_path / "own", port=free_port(), persist=True)
    url = server.start()
    settings = Settings(
        redis_url=url, namespace=namespace, price_stream=f"{namespace}:prices", data_dir=tmp_path, test_env=True
    )
    ex = await Exchange.open(settings)
    try:
        await _ladder(ex, 10)
        worker = procs.start("worker", "--name", "r1", "--block-ms", "300", env={**subprocess_env, "REDIS_URL": url})
        await started(ex.redis, ex, "r1")

        async def closed(count: int) -> bool:
            return len((await snapshot(ex))["trades"]) == count

        await ex.redis.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": "98.75"})  # 3 buys
        await wait_until(lambda: closed(3), "three fills before the restart")
        await ex.redis.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": "98.55"})  # 2 more
        server.stop()
        server.start()

        async def reachable() -> bool:
            try:
                return bool(await ex.redis.ping())
            except Exception:
                return False

        await wait_until(reachable, "Valkey to come back")
        await ex.redis.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": "101.45"})  # 5 sells
        await wait_until(lambda: closed(10), "every fill after the restart", 30)
        await wait_until(lambda: stream_done(ex.redis, settings.price_stream), "the stream to be drained")
        assert await money_problems(ex) == []
        assert worker.poll() is None
        assert "Valkey unreachable" in procs.output(worker)
        worker.send_signal(signal.SIGTERM)
        assert await exited(worker) == 0
    finally:
        await ex.close()
        server.stop()


@pytest.mark.parametrize("args", [["--block-ms", "9000"], ["--name", "two words"]])
def test_bad_worker_options_exit_2_with_one_line(subprocess_env: dict[str, str], args: list[str]) -> None:
    result = subprocess.run([MOCKX, "worker", *args], env=subprocess_env, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("mockx: ")


def test_bad_settings_exit_2_with_one_line(subprocess_env: dict[str, str]) -> None:
    env = {**subprocess_env, "REDIS_URL": "http://nope"}
    result = subprocess.run([MOCKX, "worker", "--burst"], env=env, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "mockx: REDIS_URL='http://nope' is invalid: must be a redis://, rediss://, valkey:// or unix:// URL"
    )


async def test_burst_process_drains_and_exits(
    exchange: Exchange, redis: Redis, settings: Settings, procs: Processes
) -> None:
    await exchange.deposit("USDT", "1000")
    await exchange.push_price("BTC/USDT", "100")
    order = await exchange.create_order("BTC/USDT", "buy", "limit", "1", "99")
    for price in ("100.5", "98"):
        await redis.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": price})
    worker = procs.start("worker", "--burst", "--name", "b1")
    assert await exited(worker, 20) == 0
    assert msgspec.json.decode(procs.output(worker).strip().splitlines()[-1])["processed"] == 3
    assert (await exchange.fetch_order(order.id)).status == "closed"
