"""Ticks per second one settlement worker absorbs, and the latency from XADD to the fill event.

    .venv/bin/python bench/ticks.py                       # everything, 3 rounds, medians
    .venv/bin/python bench/ticks.py --rounds 1 --ticks 20000 --no-aof

What runs: a fresh embedded Valkey (AOF everysec, as ``mockx`` runs it; ``--no-aof`` to compare), then

1. **nothing crosses**: resting orders on both sides far from the price, ``--ticks`` ticks published
   beforehand (pipelined XADD, four symbols), then one worker in burst mode drains them; ticks/s is the
   number of ticks over the drain time. With ``--book N`` each tick also publishes a book of N levels a
   side and carries a ``qty`` (a print).
2. **crossing**: a ladder of resting buys and a falling price, so every tick fills ``--cross`` orders
   (``--cross-ticks`` ticks); same measurement.
3. **latency**: a ``mockx worker`` process runs; this process publishes ``--rate`` ticks/s for
   ``--seconds`` (one XADD per tick; one tick in ``--cross-every`` fills one resting order, default every
   tick) and reads the events stream with a blocking XREAD; latency is the time from just before the XADD
   of a crossing tick to reading its ``order.filled`` event.

Measurements 1 and 2 run the worker in this process (uvloop, as ``mockx worker`` does); everything shares
the machine's cores. Every round checks its fills: the number of filled orders must be exactly what the
ticks cross.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from asyncio.subprocess import DEVNULL
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
MOCKX = str(Path(sys.executable).with_name("mockx"))
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")


class Filled(msgspec.Struct):
    order: dict[str, Any]


_filled = msgspec.json.Decoder(Filled)


async def open_exchange(url: str, namespace: str) -> Any:
    from app.engine.exchange import Exchange
    from app.settings import Settings

    settings = Settings(redis_url=url, namespace=namespace, price_stream=f"{namespace}:prices", test_env=True)
    return await Exchange.open(settings)


async def place_many(ex: Any, orders: list[tuple[str, str, Decimal, Decimal]], concurrency: int = 32) -> list[str]:
    """Place limit orders concurrently; ids in the order given."""
    ids: list[str] = [""] * len(orders)
    queue = list(enumerate(orders))

    async def placer() -> None:
        while queue:
            i, (symbol, side, amount, price) = queue.pop()
            ids[i] = (await ex.create_order(symbol, side, "limit", amount, price)).id

    await asyncio.gather(*(placer() for _ in range(concurrency)))
    return ids


async def publish(ex: Any, ticks: list[dict[str, str]], batch: int = 1000) -> None:
    stream = ex.settings.price_stream
    for start in range(0, len(ticks), batch):
        async with ex.redis.pipeline(transaction=False) as pipe:
            for fields in ticks[start : start + batch]:
                pipe.xadd(stream, fields, maxlen=10**7, approximate=True)
            await pipe.execute()


class Drain(msgspec.Struct):
    ticks_per_s: float
    valkey_us: float  # Valkey's CPU time per tick (INFO cpu)
    python_us: float  # this process's CPU time per tick


async def busy_usec(ex: Any) -> float:
    """CPU time the Valkey process has used, in µs (everything: commands, scripts, networking, AOF)."""
    cpu = await ex.redis.info("cpu")
    return (float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])) * 1e6


async def drain(ex: Any, n: int) -> Drain:
    """One worker in burst mode drains ``n`` ticks: its rate, and where the time went."""
    from app.workers.settlement import Worker, WorkerOptions

    worker = Worker(ex, WorkerOptions(name="bench", burst=True, sweep=False, batch=500))
    busy, cpu, started = await busy_usec(ex), time.process_time(), time.perf_counter()
    await worker.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Drain(n / seconds, (await busy_usec(ex) - busy) / n, cpu * 1e6 / n)


def book_of(p: Decimal, levels: int, i: int) -> dict[str, str]:
    """A published book of ``levels`` levels a side around ``p`` (bid p - 0.01, ask p + 0.01) and a print."""
    cent = Decimal("0.01")
    bids = ",".join(f'["{p - cent * (j + 1)}","{1 + (i + j) % 5}"]' for j in range(levels))
    asks = ",".join(f'["{p + cent * (j + 1)}","{1 + (i * 3 + j) % 5}"]' for j in range(levels))
    return {"bids": f"[{bids}]", "asks": f"[{asks}]", "qty": "0.5"}


async def nothing_crosses(url: str, namespace: str, n: int, prints: bool = True, book: int = 0) -> Drain:
    ex = await open_exchange(url, namespace)
    try:
        await ex.deposit("USDT", "100000000")
        orders = []
        for symbol in SYMBOLS:
            await ex.push_price(symbol, "1000")
            await ex.deposit(symbol.split("/")[0], "100000")
            for i in range(250):
                orders.append((symbol, "buy", Decimal("0.01"), Decimal(500) + Decimal(i) / 10))
                orders.append((symbol, "sell", Decimal("0.01"), Decimal(1500) + Decimal(i) / 10))
        await place_many(ex, orders)
        rng = random.Random(1)
        prices = dict.fromkeys(SYMBOLS, Decimal(1000))
        ticks = []
        for i in range(n):
            symbol = SYMBOLS[i % len(SYMBOLS)]
            p = min(max(prices[symbol] + Decimal(rng.randint(-100, 100)) / 100, Decimal(900)), Decimal(1100))
            prices[symbol] = p
            cent = Decimal("0.01")
            tick = {"symbol": symbol, "price": str(p), "bid": str(p - cent), "ask": str(p + cent)}
            if prints:  # a trade print: its qty goes into the candle's volume
                tick["qty"] = str(Decimal(rng.randint(1, 99999)) / 1000)
            ticks.append(tick)
            if book:
                ticks[-1].update(book_of(p, book, i))
        await publish(ex, ticks)
        result = await drain(ex, n)
        assert len(await ex.redis.hkeys(ex.keys.trades)) == 0, "a tick crossed an order"
        return result
    finally:
        await ex.close()


async def waiting_reader(ex: Any) -> None:
    """Until the worker process is in its blocking XREADGROUP."""
    for _ in range(600):
        clients = await ex.redis.client_list()
        if any(c["cmd"] == "xreadgroup" and "b" in c["flags"] for c in clients):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the worker did not start reading within 30 s")


def ladder_price(k: int) -> Decimal:
    return Decimal(1000) - Decimal(k) / 100


async def crossing(url: str, namespace: str, n: int, per_tick: int) -> Drain:
    ex = await open_exchange(url, namespace)
    try:
        await ex.deposit("USDT", "100000000")
        await ex.push_price("BTC/USDT", "1000.01")
        await place_many(ex, [("BTC/USDT", "buy", Decimal("0.01"), ladder_price(k)) for k in range(n * per_tick)])
        ticks = [{"symbol": "BTC/USDT", "price": str(ladder_price((i + 1) * per_tick - 1))} for i in range(n)]
        await publish(ex, ticks)
        result = await drain(ex, n)
        filled = len(await ex.redis.hkeys(ex.keys.trades))
        assert filled == n * per_tick, f"{filled} fills, expected {n * per_tick}"
        return result
    finally:
        await ex.close()


async def latency(url: str, namespace: str, rate: int, seconds: float, every: int) -> tuple[float, float, float]:
    """p50, p99 and max in ms from XADD to reading order.filled, with a ``mockx worker`` process.

    Tick ``i`` crosses the next rung of the ladder when ``i % every == 0``; the others land just above the
    highest remaining rung and cross nothing.
    """
    total = int(rate * seconds)
    n = (total + every - 1) // every  # crossing ticks, one order each
    ex = await open_exchange(url, namespace)
    env = {**os.environ, "REDIS_URL": url, "NAMESPACE": namespace, "PRICE_STREAM": ex.settings.price_stream}
    worker: asyncio.subprocess.Process | None = None
    try:
        await ex.deposit("USDT", "100000000")
        await ex.push_price("BTC/USDT", "1000.01")
        ids = await place_many(ex, [("BTC/USDT", "buy", Decimal("0.01"), ladder_price(k)) for k in range(n)])
        index = {oid: k for k, oid in enumerate(ids)}
        worker = await asyncio.create_subprocess_exec(
            MOCKX, "worker", "--name", "bench", "--no-sweep", env=env, stdout=DEVNULL, stderr=DEVNULL
        )
        await waiting_reader(ex)

        sent: list[float] = [0.0] * n
        seen: dict[int, float] = {}
        start_id = await ex.redis.xrevrange(ex.keys.events, count=1)
        last_id = start_id[0][0] if start_id else "0-0"

        async def read() -> None:
            nonlocal last_id
            reader = ex.redis
            while len(seen) < n:
                reply = await reader.xread({ex.keys.events: last_id}, count=1000, block=1000)
                now = time.perf_counter()
                for _, entries in reply or []:
                    for entry_id, fields in entries:
                        last_id = entry_id
                        if fields.get("type") == "order.filled":
                            k = index.get(_filled.decode(fields["data"]).order["id"])
                            if k is not None:
                                seen[k] = now

        reader = asyncio.create_task(read())
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        stream = ex.settings.price_stream
        for i in range(total):
            delay = t0 + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            rung, crossing = divmod(i, every)
            price = ladder_price(rung) if crossing == 0 else ladder_price(rung) + Decimal("0.005")
            if crossing == 0:
                sent[rung] = time.perf_counter()
            await ex.redis.xadd(stream, {"symbol": "BTC/USDT", "price": str(price)}, maxlen=10**7)
        await asyncio.wait_for(reader, 30)
        lat = sorted((seen[k] - sent[k]) * 1000 for k in range(n))
        return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.wait(), 15)
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        await ex.close()


def cpu_times() -> list[int]:
    """The machine's CPU time counters (Linux ``/proc/stat``), empty elsewhere."""
    try:
        return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return []


async def main(args: argparse.Namespace) -> None:
    from app.store.embedded import EmbeddedValkey

    before = cpu_times()

    results: dict[str, list[float]] = {}

    def keep(**values: float) -> None:
        for name, value in values.items():
            results.setdefault(name, []).append(value)

    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp), port=0, persist=args.aof) as server:
        for r in range(args.rounds):
            if "idle" in args.only:
                d = await nothing_crosses(server.url, f"idle{r}", args.ticks, args.prints, args.book)
                keep(idle=d.ticks_per_s, idle_valkey_us=d.valkey_us, idle_python_us=d.python_us)
            if "cross" in args.only:
                d = await crossing(server.url, f"cross{r}", args.cross_ticks, args.cross)
                keep(cross=d.ticks_per_s, cross_valkey_us=d.valkey_us, cross_python_us=d.python_us)
            if "latency" in args.only:
                p50, p99, worst = await latency(server.url, f"lat{r}", args.rate, args.seconds, args.cross_every)
                keep(p50_ms=p50, p99_ms=p99, max_ms=worst)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in results.items()), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in results.items()}
    after = cpu_times()
    if before and after:  # user nice system idle iowait irq softirq steal
        spent = [b - a for a, b in zip(before, after, strict=True)]
        med["busy_pct"] = 100 * (sum(spent) - spent[3] - spent[4]) / max(1, sum(spent))
        med["steal_pct"] = 100 * spent[7] / max(1, sum(spent))
    print(
        f"Valkey AOF: {'everysec' if args.aof else 'off'}; medians of {args.rounds} rounds; "
        f"machine busy {med.get('busy_pct', 0):.0f} %, of which stolen by the host {med.get('steal_pct', 0):.0f} %"
    )
    if "idle" in med:
        print(
            f"ticks/s, one worker, nothing crosses:   {med['idle']:>8,.0f}  (target >= 15 000)  per tick: "
            f"Valkey {med['idle_valkey_us']:.0f} us, worker CPU {med['idle_python_us']:.0f} us"
        )
    if "cross" in med:
        print(
            f"ticks/s, one worker, {args.cross} fills per tick: {med['cross']:>8,.0f}                     per tick: "
            f"Valkey {med['cross_valkey_us']:.0f} us, worker CPU {med['cross_python_us']:.0f} us"
        )
    if "p50_ms" in med:
        print(
            f"XADD -> order.filled at {args.rate} ticks/s, 1 in {args.cross_every} crossing: "
            f"p50 {med['p50_ms']:.1f} ms, p99 {med['p99_ms']:.1f} ms, max {med['max_ms']:.1f} ms  (target p99 < 50 ms)"
        )
    print(msgspec.json.encode({"aof": args.aof, "rounds": args.rounds, **med}).decode())


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ticks", type=int, default=50_000, help="ticks of the nothing-crosses run")
    parser.add_argument("--cross-ticks", type=int, default=5_000, help="ticks of the crossing run")
    parser.add_argument("--cross", type=int, default=3, help="orders each tick of the crossing run fills")
    parser.add_argument("--rate", type=int, default=1000, help="ticks/s of the latency run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the latency run")
    parser.add_argument("--cross-every", type=int, default=1, help="latency run: one tick in N fills an order")
    parser.add_argument(
        "--prints", action=argparse.BooleanOptionalAction, default=True, help="idle run: ticks carry a qty"
    )
    parser.add_argument(
        "--book",
        type=int,
        default=0,
        help="idle run: each tick also carries a book of N levels a side and a qty",
    )
    parser.add_argument("--aof", action=argparse.BooleanOptionalAction, default=True, help="AOF everysec")
    parser.add_argument("--only", nargs="+", default=["idle", "cross", "latency"], choices=["idle", "cross", "latency"])
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(main(args))
    else:
        uvloop.run(main(args))


if __name__ == "__main__":
    cli()
