"""Market orders per second while SSE subscribers follow ``GET /events``: what fan-out costs the API.

    .venv/bin/python bench/fanout.py                               # 0 / 50 / 200 / 500 subscribers, 10 s each
    .venv/bin/python bench/fanout.py --subscribers 0,200 --duration 5
    .venv/bin/python bench/fanout.py --code ../other-checkout      # the API of another checkout, same load

What runs: a fresh embedded Valkey (AOF everysec, as ``mockx serve`` runs it), one API process started with
``mockx serve`` (auth on), a subscriber process holding N SSE streams on ``GET /events`` (each reading every
event of the default account), and the order load: market orders through the REST API from ``--tasks``
concurrent keep-alive connections (the asyncio generator of ``bench/orders.py``). For each N: a warm-up,
then ``--duration`` seconds of load, then a pause for the last events to arrive. Everything shares the
machine's cores, as in the README's figures.

Reported per N: orders/s (and as a share of the 0-subscriber rate), delivery lag of every event received by
one subscriber in ten (the event id's time, when Valkey wrote it, to its arrival: p50, p99, max; the others
only count their events, so the subscribers cost the machine less), streams cut
(a ``closed`` notice, or a stream that ended or failed), events each subscriber got against events written,
and the API process's CPU time (``/proc/<pid>/stat``) per order; beside it, the CPU the API and the subscriber
process used (in cores: what the machine had left for the rest).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.orders import API_KEY, NAMESPACE, NATIVE, _asyncio_load, _free_port, _prepare, _stop, _wait_ready  # noqa: E402

_MARK = b"\nid: "
_ID = re.compile(rb"\nid: (\d+)-")
_CARRY = 40
_END = b"\r\n\r\n"
_LAG_BUCKETS = 60_000  # lag histogram, one bucket per ms
TIMED_EVERY = 10  # one subscriber in 10 times every event it gets; the others count them


# the subscriber process -----------------------------------------------------------------------------------
class Subscriber(asyncio.Protocol):
    """One SSE stream read as raw bytes, without copying them: every ``id:`` line is an event, timed when it
    arrives (the id's time is when Valkey wrote the event)."""

    def __init__(self, request: bytes, lags: list[int], counts: dict[str, int]) -> None:
        self.request = request
        self.lags = lags
        self.counts = counts
        self.head: bytes | None = b""  # the response head until its end has arrived, then None
        self.carry = b""  # the end of the last read: an id line may be split between two reads
        self.opened = asyncio.get_running_loop().create_future()
        self.cut = False
        self.events = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.head is not None:
            head, found, data = (self.head + data).partition(_END)
            if not found:
                self.head = head
                return
            self.head = None
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                self._cut()
                return
        carry, self.carry = self.carry, data[-_CARRY:]
        stamps = self.stamps(carry, data)
        if stamps and not self.opened.done():
            self.opened.set_result(None)
            stamps = stamps[1:]  # the opening message: the cursor, not an event
        self.events += len(stamps)
        if stamps and self.timed:
            now = int(time.time() * 1000)
            for stamp in stamps:
                self.lags[min(max(now - int(stamp), 0), _LAG_BUCKETS - 1)] += 1
        if b"event: closed" in data:
            self._cut()

    timed = True

    def stamps(self, carry: bytes, data: bytes) -> list[bytes]:
        edge = carry + data[:_CARRY]
        split = [m.group(1) for m in _ID.finditer(edge) if m.start() < len(carry) < m.end()]
        return split + _ID.findall(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cut()

    def _cut(self) -> None:
        if not self.cut:
            self.cut = True
            self.counts["cut"] += 1
        if not self.opened.done():
            self.opened.set_result(None)


class Counter(Subscriber):
    """A stream that only counts its events (most of the subscribers: timing every event of every stream would
    cost the machine more than the API spends sending them)."""

    timed = False

    def stamps(self, carry: bytes, data: bytes) -> list[bytes]:
        found = data.count(_MARK) + (carry[-4:] + data[:4]).count(_MARK)
        return [b""] * found


def _quantile(histogram: list[int], q: float) -> float | None:
    total = sum(histogram)
    if not total:
        return None
    rank, seen = q * total, 0
    for ms, n in enumerate(histogram):
        seen += n
        if seen >= rank:
            return float(ms)
    return float(len(histogram) - 1)


async def subscribers(url: str, count: int) -> None:
    """Hold ``count`` streams; on ``start`` (stdin) reset the counters, on ``stop`` print them as JSON."""
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()  # type: ignore[union-attr]
    request = (
        f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\nx-api-key: {API_KEY}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    lags = [0] * _LAG_BUCKETS
    counts = {"cut": 0}
    streams: list[Subscriber] = []
    for i in range(count):
        kind = Subscriber if i % TIMED_EVERY == 0 else Counter
        _, stream = await loop.create_connection(lambda k=kind: k(request, lags, counts), host, int(port))
        streams.append(stream)
        await asyncio.wait_for(stream.opened, 30)
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while (line := (await reader.readline()).strip()) != b"stop":
        if line == b"start":
            lags[:] = [0] * _LAG_BUCKETS
            counts["cut"] = sum(s.cut for s in streams)  # cut before the start count too
            for s in streams:
                s.events = 0
    result = {
        "subscribers": count,
        "cut": counts["cut"],
        "events": [s.events for s in streams],
        "lag_p50_ms": _quantile(lags, 0.50),
        "lag_p99_ms": _quantile(lags, 0.99),
        "lag_max_ms": _quantile(lags, 1.0),
    }
    print(json.dumps(result), flush=True)


# the run --------------------------------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def _events_added(valkey_url: str) -> int:
    from app.store.embedded import redis_client
    from app.store.keys import Keys

    redis = redis_client(valkey_url)
    try:
        return int((await redis.xinfo_stream(Keys(NAMESPACE).events)).get("entries-added", 0))
    finally:
        await redis.aclose()


def _load(url: str, tasks: int, seconds: float) -> tuple[int, int, float]:
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()  # type: ignore[union-attr]
    started = time.perf_counter()
    latencies, errors = asyncio.run(_asyncio_load(host, int(port), tasks, seconds, NATIVE))
    return len(latencies), errors, time.perf_counter() - started


def one_level(
    args: argparse.Namespace, api: subprocess.Popen[bytes], api_url: str, valkey_url: str, n: int
) -> dict[str, Any]:
    subs = None
    if n:
        subs = subprocess.Popen(
            [sys.executable, __file__, "--serve-subscribers", str(n), "--url", api_url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert subs.stdout is not None
        assert subs.stdin is not None
        if subs.stdout.readline().strip() != "ready":
            raise RuntimeError("the subscribers did not connect")
    try:
        _load(api_url, args.tasks, 1.0)  # warm-up
        time.sleep(1.0)
        if subs is not None:
            subs.stdin.write("start\n")  # type: ignore[union-attr]
            subs.stdin.flush()  # type: ignore[union-attr]
        added, cpu = asyncio.run(_events_added(valkey_url)), _cpu_seconds(api.pid)
        sub_cpu = _cpu_seconds(subs.pid) if subs is not None else 0.0
        orders, errors, elapsed = _load(api_url, args.tasks, args.duration)
        cpu = _cpu_seconds(api.pid) - cpu
        sub_cpu = (_cpu_seconds(subs.pid) if subs is not None else 0.0) - sub_cpu
        time.sleep(args.drain)  # the last events reach the subscribers
        added = asyncio.run(_events_added(valkey_url)) - added
        result: dict[str, Any] = {
            "subscribers": n,
            "orders": orders,
            "errors": errors,
            "orders_per_s": orders / elapsed,
        }
        result["api_cpu_ms_per_order"] = cpu * 1000 / max(orders, 1)
        result["api_cpu_share"] = cpu / elapsed  # of one core
        result["subscribers_cpu_share"] = sub_cpu / elapsed
        result["events_written"] = added
        if subs is not None:
            subs.stdin.write("stop\n")  # type: ignore[union-attr]
            subs.stdin.flush()  # type: ignore[union-attr]
            got = json.loads(subs.stdout.readline())  # type: ignore[union-attr]
            result |= {k: got[k] for k in ("cut", "lag_p50_ms", "lag_p99_ms", "lag_max_ms")}
            result["events_per_subscriber"] = statistics.median(got["events"])
            result["events_min"] = min(got["events"])
        return result
    finally:
        if subs is not None:
            subs.terminate()
            subs.wait(10)


def _row(r: dict[str, Any], base: float) -> str:
    def ms(key: str) -> str:
        return f"{r[key]:8.0f}" if r.get(key) is not None else f"{'-':>8}"

    got = (
        f"{r['events_min']:>7} / {r['events_written']:<7}"
        if "events_min" in r
        else f"{'-':>7} / {r['events_written']:<7}"
    )
    cut = str(r.get("cut", "-"))
    return (
        f"{r['subscribers']:>11} {r['orders_per_s']:9.0f} {r['orders_per_s'] / base:6.2f}x {ms('lag_p50_ms')} "
        f"{ms('lag_p99_ms')} {ms('lag_max_ms')} {cut:>5} {got:>17} {r['api_cpu_ms_per_order']:10.2f} "
        f"{r['api_cpu_share']:8.2f} {r['subscribers_cpu_share']:9.2f} {r['errors']:>7}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", default="0,50,200,500", help="comma-separated subscriber counts")
    parser.add_argument("--tasks", type=int, default=8, help="concurrent order connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per count")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds to wait for the last events")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose API runs (default: this one)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument("--verbose", action="store_true", help="show the API's log")
    parser.add_argument("--serve-subscribers", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_subscribers:
        try:
            import uvloop

            uvloop.run(subscribers(args.url, args.serve_subscribers))
        except ImportError:
            asyncio.run(subscribers(args.url, args.serve_subscribers))
        return 0

    from app.store.embedded import EmbeddedValkey

    code = args.code.resolve()
    levels = [int(n) for n in args.subscribers.split(",")]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mockx-bench-") as tmp:
        valkey = EmbeddedValkey(Path(tmp), port=_free_port(), persist=True)
        valkey.start()
        asyncio.run(_prepare(valkey.url))
        env = dict(os.environ, REDIS_URL=valkey.url, NAMESPACE=NAMESPACE, PRICE_STREAM=f"{NAMESPACE}:prices",
                   API_KEY=API_KEY, TEST_ENV="false", MOCKX_DATA_DIR=str(Path(tmp) / "data"),
                   PYTHONPATH=str(code))  # fmt: skip
        port = _free_port()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if not args.verbose else {}
        api = subprocess.Popen(
            [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", str(port), "--log-level",
             "warning"], env=env, cwd=code, **quiet,  # type: ignore[call-overload]
        )  # fmt: skip
        api_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(api_url, api)
            for n in levels:
                results.append(one_level(args, api, api_url, valkey.url, n))
                print(f"  {n} subscribers: {results[-1]}", file=sys.stderr, flush=True)
        finally:
            _stop(api)
            valkey.stop()

    if args.json:
        print(json.dumps(results, indent=2))
    out = sys.stderr if args.json else sys.stdout
    base = next((r["orders_per_s"] for r in results if r["subscribers"] == 0), results[0]["orders_per_s"]) or 1.0
    load = os.getloadavg()[0]
    lines = [
        f"\n{args.tasks} order connections, {args.duration:g} s per count; API from {code}; load average {load:.1f}, "
        f"{os.cpu_count()} cores shared by the load, the subscribers, the API and Valkey",
        f"{'subscribers':>11} {'orders/s':>9} {'vs 0':>7} {'p50 lag':>8} {'p99 lag':>8} {'max lag':>8} {'cut':>5} "
        f"{'events min/written':>17} {'API ms/order':>10} {'API CPU':>8} {'subs CPU':>9} {'errors':>7}",
    ]
    lines += [_row(r, base) for r in results]
    print("\n".join(lines), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
