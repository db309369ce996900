"""What the number of symbols costs: GET /tickers, the worker's sweep, and ticks/s per worker.

    .venv/bin/python bench/tickers.py                         # 10 / 100 / 1 000 symbols
    .venv/bin/python bench/tickers.py --sizes 1000 --requests 500 --no-aof

What runs: a fresh embedded Valkey (AOF everysec, as ``mockx`` runs it; ``--no-aof`` to compare), then for
each size, in a namespace of its own:

1. **fill**: every symbol gets a tick in each of the last 26 hours (so its 24 h buckets are full, as on an
   exchange that has run for a day), published beforehand and drained by one worker in burst mode; three
   symbols get a resting buy and sell far from the price (the sweep's "few books that hold orders").
2. **GET /tickers**: the real app (``create_app``, its lifespan run), each request sent straight to the ASGI
   app in this process, so the time is the server's own: routing, auth, the handler's reads, the ccxt shape
   and the JSON encoding, nothing of a client or socket. ``--requests`` requests after 20 to warm up; p50
   and p99. The response is checked: one ticker per symbol with its 24 h high and low.
3. **GET /tickers, every ticker changed**: before each of ``--changed`` requests, one tick per symbol is
   published and drained (untimed), so no ticker is as the last request saw it.
4. **GET /tickers/{symbol}**: the same as 2 for one symbol.
5. **sweep**: what the worker's periodic sweep does (publish prices of the older keys, then re-check the
   books that hold orders at the latest prices), ``--sweeps`` times; p50 and max.

Then **ticks/s**: ``--ticks`` ticks crossing nothing, spread round-robin over 1 and over the largest size of
symbols (every symbol has its ticker and a day of buckets), drained by one worker in burst mode, as in
``bench/ticks.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ticks import cpu_times, drain, open_exchange, publish

HOUR = 3_600_000
BOOKED = 3  # symbols with resting orders
FILL_HOURS = 26


def symbols(n: int) -> list[str]:
    return [f"S{i:04d}/USDT" for i in range(n)]


def price_at(i: int, h: int) -> str:
    """The fill's price of symbol ``i`` ``h`` hours back: between 9 and 11."""
    return f"{10 + ((i * 7 + h * 13) % 200 - 100) / 100:.2f}"


def day_of_ticks(names: list[str], now_ms: int) -> list[dict[str, str]]:
    """One tick per symbol in each of the last ``FILL_HOURS`` hours, oldest first."""
    return [
        {"symbol": symbol, "price": price_at(i, h), "ts": str(now_ms - h * HOUR), "volume": "1000"}
        for h in range(FILL_HOURS - 1, -1, -1)
        for i, symbol in enumerate(names)
    ]


async def fill(ex: Any, names: list[str], now_ms: int) -> None:
    ticks = day_of_ticks(names, now_ms)
    await publish(ex, ticks)
    await drain(ex, len(ticks))
    await ex.deposit("USDT", "1000000")
    for symbol in names[:BOOKED]:
        await ex.deposit(symbol.split("/")[0], "1000")
        await ex.create_order(symbol, "buy", "limit", "1", "1")
        await ex.create_order(symbol, "sell", "limit", "1", "100")


async def asgi_get(app: Any, path: str) -> tuple[float, int, bytes]:
    """One GET straight into the ASGI app: the seconds it took, the status and the body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
        "state": {},
    }
    status, body = 0, bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    started = time.perf_counter()
    await app(scope, receive, send)
    return time.perf_counter() - started, status, bytes(body)


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def time_get(app: Any, path: str, requests: int, check: Callable[[bytes], None]) -> tuple[float, float]:
    """p50 and p99 in ms of ``requests`` GETs of ``path`` (after 20 to warm up)."""
    samples = []
    for i in range(requests + 20):
        seconds, status, body = await asgi_get(app, path)
        assert status == 200, (status, body[:200])
        if i == 0:
            check(body)
        if i >= 20:
            samples.append(seconds * 1000)
    return p(samples, 0.5), p(samples, 0.99)


async def time_changed(ex: Any, app: Any, names: list[str], requests: int, now_ms: int) -> tuple[float, float]:
    """p50 and p99 in ms of GET /tickers when every symbol has had a tick since the request before."""
    samples = []
    for r in range(requests):
        ticks = [
            {"symbol": s, "price": f"{10 + ((i * 7 + r * 29) % 200 - 100) / 100:.2f}", "ts": str(now_ms + r + 1)}
            for i, s in enumerate(names)
        ]
        await publish(ex, ticks)
        await drain(ex, len(ticks))
        seconds, status, _ = await asgi_get(app, "/tickers")
        assert status == 200
        samples.append(seconds * 1000)
    return p(samples, 0.5), p(samples, 0.99)


async def time_sweep(ex: Any, sweeps: int) -> tuple[float, float]:
    """p50 and max in ms of the worker's sweep: older price keys, then the books that hold orders."""
    from app.workers.legacy import publish_legacy_prices

    samples = []
    for _ in range(sweeps):
        started = time.perf_counter()
        await publish_legacy_prices(ex.redis, ex.keys, ex.settings)
        assert await ex.sweep() == 0
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def check_tickers(names: list[str]) -> Callable[[bytes], None]:
    """Every symbol has its ticker, with the open, high and low of the last 24 of the fill's hours."""

    def check(body: bytes) -> None:
        tickers = msgspec.json.decode(body, type=dict[str, dict[str, Any]])
        assert sorted(tickers) == names, f"{len(tickers)} tickers for {len(names)} symbols"
        for i, symbol in enumerate(names):
            day = [Decimal(price_at(i, h)) for h in range(24)]
            t = tickers[symbol]
            assert (Decimal(str(t["open"])), Decimal(str(t["high"])), Decimal(str(t["low"]))) == (
                day[-1],
                max(day),
                min(day),
            ), (symbol, t)

    return check


async def size_case(url: str, n: int, args: argparse.Namespace, now_ms: int) -> dict[str, float]:
    from litestar.testing import AsyncTestClient

    from app.api import create_app

    names = symbols(n)
    ex = await open_exchange(url, f"tk{n}")
    try:
        await fill(ex, names, now_ms)
        app = create_app(exchange=ex)
        async with AsyncTestClient(app=app):  # runs the lifespan
            all50, all99 = await time_get(app, "/tickers", args.requests, check_tickers(names))
            new50, new99 = await time_changed(ex, app, names, args.changed, now_ms)
            one50, one99 = await time_get(app, f"/tickers/{names[-1]}", args.requests, lambda body: None)
        sweep50, sweep_max = await time_sweep(ex, args.sweeps)
        return {"all_p50": all50, "all_p99": all99, "new_p50": new50, "new_p99": new99, "one_p50": one50,
                "one_p99": one99, "sweep": sweep50, "sweep_max": sweep_max}  # fmt: skip
    finally:
        await ex.close()


async def ticks_case(url: str, n: int, ticks: int, now_ms: int, tag: str) -> float:
    """Ticks/s of one worker draining ``ticks`` ticks spread round-robin over ``n`` symbols."""
    names = symbols(n)
    ex = await open_exchange(url, f"tps{n}{tag}")
    try:
        await fill(ex, names, now_ms - 60_000)
        run = [
            {"symbol": names[i % n], "price": f"{10 + (i % 97 - 48) / 100:.2f}", "ts": str(now_ms + i // n)}
            for i in range(ticks)
        ]
        await publish(ex, run)
        return (await drain(ex, ticks)).ticks_per_s
    finally:
        await ex.close()


async def main(args: argparse.Namespace) -> None:
    from app.store.embedded import EmbeddedValkey

    before = cpu_times()
    now_ms = int(time.time() * 1000)
    rows: dict[int, list[dict[str, float]]] = {}
    rates: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp), port=0, persist=args.aof) as server:
        for r in range(args.rounds):
            for n in args.sizes:
                rows.setdefault(n, []).append(await size_case(server.url, n, args, now_ms))
                print(f"round {r + 1}, {n} symbols: {rows[n][-1]}", file=sys.stderr)
            for n in sorted({1, max(args.sizes)}):
                rates.setdefault(n, []).append(await ticks_case(server.url, n, args.ticks, now_ms, f"r{r}"))
                print(f"round {r + 1}, ticks/s at {n} symbol(s): {rates[n][-1]:,.0f}", file=sys.stderr)
    after = cpu_times()
    busy = ""
    if before and after:  # user nice system idle iowait irq softirq steal
        spent = [b - a for a, b in zip(before, after, strict=True)]
        busy = f"; machine busy {100 * (sum(spent) - spent[3] - spent[4]) / max(1, sum(spent)):.0f} %"
    print(f"Valkey AOF: {'everysec' if args.aof else 'off'}; medians of {args.rounds} round(s){busy}")
    head = f"{'GET /tickers p50 / p99':>22} | {'all changed p50 / p99':>22} | {'/tickers/{s} p50 / p99':>22}"
    print(f"{'symbols':>8} | {head} | {'sweep p50 / max':>18}")
    summary: dict[str, Any] = {"aof": args.aof, "rounds": args.rounds}
    for n, results in rows.items():
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        summary[str(n)] = med
        print(
            f"{n:>8,} | {med['all_p50']:>7.2f} / {med['all_p99']:>6.2f} ms | {med['new_p50']:>7.2f} / "
            f"{med['new_p99']:>6.2f} ms | {med['one_p50']:>7.2f} / {med['one_p99']:>6.2f} ms | "
            f"{med['sweep']:>7.2f} / {med['sweep_max']:>6.2f} ms"
        )
    for n, values in rates.items():
        summary[f"ticks_per_s_{n}"] = statistics.median(values)
        print(f"ticks/s, one worker, nothing crosses, {n:>5,} symbol(s): {statistics.median(values):>8,.0f}")
    print(msgspec.json.encode(summary).decode())


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000], help="numbers of symbols")
    parser.add_argument("--requests", type=int, default=200, help="timed GETs per size and route")
    parser.add_argument("--changed", type=int, default=50, help="timed GETs per size after a tick of every symbol")
    parser.add_argument("--sweeps", type=int, default=20, help="timed sweeps per size")
    parser.add_argument("--ticks", type=int, default=20_000, help="ticks of each ticks/s run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--aof", action=argparse.BooleanOptionalAction, default=True, help="AOF everysec")
    args = parser.parse_args()
    run: Callable[[Awaitable[None]], None]
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        run = asyncio.run
    else:
        run = uvloop.run
    run(main(args))


if __name__ == "__main__":
    cli()
