"""What a long history costs the lists: GET /orders and GET /trades, and `mockx orders`, with N closed orders.

For each N one account gets 1 000 canceled orders first (the oldest rows), then N filled market orders
(closed, each with its trade), placed with pipelined place_order calls. Then, against the app under
uvicorn on its own embedded Valkey, the median of ``--rounds`` requests of: the first page of GET /orders
(default filters), GET /orders?status=closed&symbol=BTC/USDT, GET /orders?status=canceled&limit=1 (matching
only the oldest rows), GET /trades, and `mockx orders` end to end (a child process, Python start included).
Memory: Valkey's used_memory before and after seeding the fills divided by N (events stream included,
capped by EVENTS_MAXLEN), and MEMORY USAGE of the order keys (orders, order_ids, order_index) and of the
trade keys (trades, trade_ids, trade_index) divided by N. First, the cost of the index writes: Valkey's own
time (SLOWLOG) per place_order call, filled and resting; last, retention: Valkey's own time per
trim_history call while up to 100 000 closed orders and their trades are trimmed.

    .venv/bin/python bench/history.py                 # N = 1 000, 10 000, 100 000
    .venv/bin/python bench/history.py --million       # and 1 000 000 (about 2 GB of Valkey memory)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from app.api import create_app
from app.engine.exchange import Exchange
from app.settings import Settings
from app.store.embedded import EmbeddedValkey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.http import LiveServer

CANCELED = 1000
QUERIES = {
    "GET /orders": "/orders",
    "GET /orders?status=closed&symbol=": "/orders?status=closed&symbol=BTC/USDT",
    "GET /orders?status=canceled&limit=1": "/orders?status=canceled&limit=1",
    "GET /trades": "/trades",
}


def settings(url: str, data_dir: Path) -> Settings:
    ns = f"hist{uuid.uuid4().hex[:8]}"
    return Settings(redis_url=url, namespace=ns, price_stream=f"{ns}:prices", data_dir=data_dir, test_env=True)


async def used_memory(ex: Exchange) -> int:
    return int((await ex.redis.info("memory"))["used_memory"])


async def key_bytes(ex: Exchange, *keys: str) -> int:
    total = 0
    for key in keys:
        total += int(await ex.redis.memory_usage(key, samples=0) or 0)
    return total


async def seed(s: Settings, n: int) -> dict[str, float]:
    """The canceled orders, then ``n`` fills; the memory they took, per order."""
    async with Exchange.connect(s) as ex:
        await ex.deposit("USDT", "1000000000")
        await ex.push_price("BTC/USDT", "100")
        await ex.push_price("ETH/USDT", "10")
        await ex.place_copies(await ex.plan_order("BTC/USDT", "buy", "limit", "0.01", "50", None, None), CANCELED)
        for start in range(1, CANCELED + 1, 100):
            await asyncio.gather(*(ex.cancel_order(str(i)) for i in range(start, start + 100)))
        k = ex.keys
        before = await used_memory(ex)
        orders_before = await key_bytes(ex, k.orders, k.order_ids, k.order_index)
        trades_before = await key_bytes(ex, k.trades, k.trade_ids, k.trade_index)
        plan = await ex.plan_order("BTC/USDT", "buy", "market", "0.01", None, None, None)
        started = time.perf_counter()
        await ex.place_copies(plan, n)
        seeded = time.perf_counter() - started
        after = await used_memory(ex)
        orders_after = await key_bytes(ex, k.orders, k.order_ids, k.order_index)
        trades_after = await key_bytes(ex, k.trades, k.trade_ids, k.trade_index)
        return {
            "seed_s": seeded,
            "used_per_fill": (after - before) / n,
            "order_bytes": (orders_after - orders_before) / n,
            "trade_bytes": (trades_after - trades_before) / n,
        }


@contextlib.asynccontextmanager
async def script_times(ex: Exchange, max_len: int) -> AsyncIterator[list[int]]:
    """Valkey's own time (µs, SLOWLOG) of every script call made inside the block, sorted, in the list yielded
    (filled when the block ends); the slow log goes back to its usual 10 ms threshold after."""
    took: list[int] = []
    await ex.redis.config_set("slowlog-log-slower-than", 0)
    await ex.redis.config_set("slowlog-max-len", max_len)
    await ex.redis.slowlog_reset()
    try:
        yield took
        log = await ex.redis.slowlog_get(max_len)
        took += sorted(e["duration"] for e in log if "EVALSHA" in str(e["command"]))
    finally:
        await ex.redis.config_set("slowlog-log-slower-than", 10_000)


async def place_cost(url: str, data_dir: Path, count: int = 20_000) -> str:
    """Valkey's own time (SLOWLOG) per place_order call, filled and resting, with ``count`` of each held."""
    out = []
    async with Exchange.connect(settings(url, data_dir)) as ex:
        await ex.deposit("USDT", "1000000000")
        await ex.push_price("BTC/USDT", "100")
        for kind, args in (("fill", ("market", "0.01", None)), ("rest", ("limit", "0.01", "50"))):
            plan = await ex.plan_order("BTC/USDT", "buy", *args, None, None)
            await ex.place_copies(plan, count)  # the indexes hold this many already
            async with script_times(ex, 10_000) as took:
                await ex.place_copies(plan, 5000)
            out.append(f"{kind} {statistics.mean(took):.0f} µs")
    return "place_order, Valkey time per call: " + ", ".join(out)


async def trim_cost(url: str, data_dir: Path, n: int) -> str:
    """Retention: trim ``n`` closed orders and their trades (default HISTORY_CHUNK); Valkey's own time
    (SLOWLOG) of each trim_history call (p50, p99, the longest) and the wall time to trim them all."""
    async with Exchange.connect(settings(url, data_dir)) as ex:
        await ex.deposit("USDT", "1000000000")
        await ex.push_price("BTC/USDT", "100")
        await ex.place_copies(await ex.plan_order("BTC/USDT", "buy", "market", "0.01", None, None, None), n)
        later, removed = int(time.time() * 1000) + 30 * 86_400_000, 0
        started = time.perf_counter()
        async with script_times(ex, 100_000) as took:
            while True:
                done = await ex.trim_history(now_ms=later, rounds=1)
                removed += done.orders
                if not done.more:
                    break
        wall = time.perf_counter() - started
    return (
        f"trim_history ({ex.settings.history_chunk} orders + trades per call): {removed} orders in {len(took)} "
        f"calls, {wall:.2f} s; Valkey time per call: p50 {took[len(took) // 2] / 1000:.2f} ms, "
        f"p99 {took[len(took) * 99 // 100] / 1000:.2f} ms, longest {took[-1] / 1000:.2f} ms"
    )


def timed_get(http: httpx.Client, path: str, rounds: int) -> tuple[float, int]:
    """Median ms of ``rounds`` requests (after one warm-up) and the rows of the answer."""
    rows = len(http.get(path).raise_for_status().json())
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        http.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), rows


def timed_cli(url: str, rounds: int) -> float:
    env = {**os.environ, "MOCKX_URL": url, "COLUMNS": "200"}
    env.pop("MOCKX_API_KEY", None)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "from cli.main import main; main()", "orders"],
            env=env, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(url: str, n: int, rounds: int, data_dir: Path) -> dict[str, float]:
    s = settings(url, data_dir)
    result = asyncio.run(seed(s, n))
    server = LiveServer(create_app(s)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=600) as http:
            for name, path in QUERIES.items():
                result[name], result[name + " rows"] = timed_get(http, path, rounds)
        result["mockx orders"] = timed_cli(server.url, max(1, rounds // 2))
    finally:
        server.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated N (closed orders)")
    parser.add_argument("--million", action="store_true", help="add N = 1 000 000 (needs about 2 GB)")
    parser.add_argument("--rounds", type=int, default=5, help="requests per measurement (median)")
    parser.add_argument("--maxmemory", default="", help="the embedded Valkey's maxmemory [default: 2gb, 8gb]")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x] + ([1_000_000] if args.million else [])
    maxmemory = args.maxmemory or ("8gb" if max(sizes) > 200_000 else "2gb")
    with tempfile.TemporaryDirectory(prefix="mockx-history-") as tmp:
        valkey = EmbeddedValkey(Path(tmp) / "valkey", port=0, persist=False, maxmemory=maxmemory)
        url = valkey.start()
        try:
            cost = asyncio.run(place_cost(url, Path(tmp) / "place"))
            rows = [(n, measure(url, n, args.rounds, Path(tmp) / f"data{n}")) for n in sizes]
            trim = asyncio.run(trim_cost(url, Path(tmp) / "trim", min(max(sizes), 100_000)))
        finally:
            valkey.stop()
    heads = ["/orders", "closed&symbol", "canceled&limit=1", "/trades", "mockx orders", "seed s", "B/fill", "B/order",
             "B/trade"]  # fmt: skip
    print(f"{'N closed':>9}  " + "  ".join(f"{h:>16}" for h in heads))
    for n, r in rows:
        cells = [f"{r[q]:.2f} ms" for q in QUERIES] + [f"{r['mockx orders']:.0f} ms", f"{r['seed_s']:.1f}"]
        cells += [f"{r[k]:.0f}" for k in ("used_per_fill", "order_bytes", "trade_bytes")]
        print(f"{n:>9}  " + "  ".join(f"{c:>16}" for c in cells))
    print(cost)
    print(trim)
    print("rows per answer: " + ", ".join(f"{q} {int(rows[-1][1][q + ' rows'])}" for q in QUERIES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
