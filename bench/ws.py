"""The Binance WebSocket surface under ticks: market stream subscribers, then user data streams while orders flow.

    .venv/bin/python bench/ws.py                                    # 0 / 100 / 500 subscribers, 10 s each, 200 ticks/s
    .venv/bin/python bench/ws.py --subscribers 0,100 --duration 5 --rate 100
    .venv/bin/python bench/ws.py --symbols 4                        # ticks spread over 4 symbols, subscribers too
    .venv/bin/python bench/ws.py --users 0                          # the market streams only

What runs: a fresh embedded Valkey (AOF everysec, as ``mockx serve`` runs it), one API process started with
``mockx serve`` (auth on), one settlement worker started with ``mockx worker``, and this process publishing
``--rate`` ticks/s on the price stream for the whole run (one XADD per tick, each a print with ``qty`` and a
bid/ask, the symbols in turn). The subscribers live in a separate process: raw WebSocket clients on asyncio
protocols that parse frames themselves (no client library), answer pings, and count messages; one client in
ten also decodes and times each message it gets.

1. **Market streams**, for each count N of ``--subscribers``: N connections to
   ``/stream?streams=<s>@trade/<s>@depth@100ms/<s>@kline_1m`` (subscriber i follows symbol i mod
   ``--symbols``), a warm-up, then ``--duration`` seconds measured. Lag is the arrival time against the
   payload's event time ``E`` (depth, kline), or for a trade against its tick's time ``T`` (when Valkey wrote
   the tick: publishing, the worker, the API's 100 ms batching and the socket all count).
2. **User data streams**: ``--users`` accounts (``POST /admin/accounts``), each with one ``/ws-api/v3``
   connection subscribed by ``userDataStream.subscribe.signature``, while this process places market orders
   for every account through signed ``POST /api/v3/order`` (one keep-alive connection per account,
   ``--orders-rate`` orders/s in all, ticks still flowing). Lag is the arrival of an order's ``NEW``
   ``executionReport`` against the order's creation time ``O``; every client times every message.

Reported per level: messages per subscriber per second, lag p50 / p99 / max (and the p99 per stream kind),
the depth events each subscriber got per second (10 if the 100 ms streams keep their pace),
subscribers dropped (a close frame, 1013 when it fell behind, or a lost connection), ticks/s the worker
absorbed (its consumer group's ``entries-read``, over the window) and the CPU of the API, worker and
subscriber processes (``/proc/<pid>/stat``, in cores). Everything shares the machine's cores; the load
average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.fanout import _quantile  # noqa: E402
from bench.orders import API_KEY, NAMESPACE, _free_port, _stop, _wait_ready  # noqa: E402

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "BNB/USDT", "ADA/USDT", "DOGE/USDT", "LTC/USDT")
BASE = Decimal(50_000)
KINDS = ("trade", "depthUpdate", "kline")
TIMED_EVERY = 10  # one market stream client in 10 decodes and times every message; the others count them
_LAG_BUCKETS = 60_000  # one per ms
_ZERO_MASK = b"\x00\x00\x00\x00"  # client frames must be masked; a zero key leaves the payload as it is


# the subscriber process: raw WebSocket clients ------------------------------------------------------------
class Payload(msgspec.Struct):
    e: str = ""
    E: int = 0
    T: int = 0
    x: str = ""
    O: int = 0  # noqa: E741 - Binance's name


class Combined(msgspec.Struct):
    data: Payload


class UserEvent(msgspec.Struct):
    event: Payload


_combined = msgspec.json.Decoder(Combined)
_user = msgspec.json.Decoder(UserEvent)


def frame(opcode: int, payload: bytes) -> bytes:
    """One client frame (FIN set, masked with a zero key)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + _ZERO_MASK + payload


class Stats:
    """What the clients of one process saw since the last ``start``."""

    def __init__(self) -> None:
        self.lags = {kind: [0] * _LAG_BUCKETS for kind in (*KINDS, "executionReport")}
        self.closes: dict[str, int] = {}

    def reset(self) -> None:
        for histogram in self.lags.values():
            histogram[:] = [0] * _LAG_BUCKETS


class Client(asyncio.Protocol):
    """One WebSocket connection read as raw frames: text frames counted (and timed if ``timed``), pings
    answered, a close frame or a lost connection noted as a drop."""

    def __init__(self, request: bytes, stats: Stats, timed: bool, first: bytes = b"") -> None:
        self.request, self.stats, self.timed, self.first = request, stats, timed, first
        self.head: bytes | None = b""  # the handshake answer until its end, then None
        self.buf = b""
        self.messages = 0
        self.dropped = False
        self.opened = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.head is not None:
            head, found, data = (self.head + data).partition(b"\r\n\r\n")
            if not found:
                self.head = head
                return
            self.head = None
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                self._drop(head.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
            if self.first:
                self.transport.write(frame(0x1, self.first))  # type: ignore[union-attr]
            else:
                self._open()
        buf = self.buf + data if self.buf else data
        pos, end = 0, len(buf)
        now = 0
        while end - pos >= 2:
            b0, length = buf[pos], buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if end - pos < 4:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if end - pos < 10:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            stop = start + length
            if stop > end:
                break
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x2):
                if self.timed:
                    now = now or int(time.time() * 1000)
                    self.time(buf[start:stop], now)
                else:
                    self.messages += 1
            elif opcode == 0x9:
                self.transport.write(frame(0xA, buf[start:stop]))  # type: ignore[union-attr]
            elif opcode == 0x8:
                code = int.from_bytes(buf[start : start + 2], "big") if length >= 2 else 1005
                self._drop(str(code))
            pos = stop
        self.buf = buf[pos:]

    def time(self, payload: bytes, now: int) -> None:
        self.messages += 1
        try:
            p = _combined.decode(payload).data
        except msgspec.DecodeError:
            return
        stamp = p.T if p.e == "trade" else p.E
        if p.e in self.stats.lags and stamp:
            self.stats.lags[p.e][min(max(now - stamp, 0), _LAG_BUCKETS - 1)] += 1

    def _open(self) -> None:
        if not self.opened.done():
            self.opened.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._drop("lost")

    def _drop(self, why: str) -> None:
        if not self.dropped:
            self.dropped = True
            self.stats.closes[why] = self.stats.closes.get(why, 0) + 1
        self._open()


class UserClient(Client):
    """A ``/ws-api/v3`` connection: sends its signed subscription first, opened when the answer came; times
    every ``NEW`` execution report against the order's creation time."""

    def time(self, payload: bytes, now: int) -> None:
        if not self.opened.done():
            if b'"subscriptionId"' in payload and b'"status":200' in payload:
                self._open()
            else:
                self._drop("refused: " + payload[:120].decode(errors="replace"))
            return
        self.messages += 1
        try:
            p = _user.decode(payload).event
        except msgspec.DecodeError:
            return
        if p.e == "executionReport" and p.x == "NEW" and p.O:
            self.stats.lags["executionReport"][min(max(now - p.O, 0), _LAG_BUCKETS - 1)] += 1


def _upgrade(path: str, host: str, port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def market(symbol: str) -> str:
    return symbol.replace("/", "").lower()


def subscription(params: dict[str, str], secret: str) -> bytes:
    """``userDataStream.subscribe.signature``: HMAC-SHA256 over the params sorted by key."""
    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    signed = {**params, "signature": hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()}
    return json.dumps({"id": 1, "method": "userDataStream.subscribe.signature", "params": signed}).encode()


async def subscribers(url: str, count: int, symbols: int, users: Path | None) -> None:
    """Hold ``count`` market stream clients (or one user data client per account of ``users``); on ``start``
    (stdin) reset the counters, on ``stop`` print what they saw as JSON."""
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()  # type: ignore[union-attr]
    loop = asyncio.get_running_loop()
    stats = Stats()
    accounts = json.loads(await asyncio.to_thread(users.read_text)) if users else []

    def client(i: int) -> Client:
        if users:
            key, secret = accounts[i]
            first = subscription({"apiKey": key, "timestamp": str(int(time.time() * 1000))}, secret)
            return UserClient(_upgrade("/ws-api/v3", host, int(port)), stats, True, first)
        s = market(SYMBOLS[i % symbols])
        path = f"/stream?streams={s}@trade/{s}@depth@100ms/{s}@kline_1m"
        return Client(_upgrade(path, host, int(port)), stats, i % TIMED_EVERY == 0)

    gate = asyncio.Semaphore(50)

    async def connect(i: int) -> Client:
        async with gate:
            _, c = await loop.create_connection(lambda: client(i), host, int(port))
            await asyncio.wait_for(c.opened, 60)
            return c

    clients = await asyncio.gather(*(connect(i) for i in range(len(accounts) if users else count)))
    print(json.dumps({"ready": len(clients), "dropped": sum(c.dropped for c in clients)}), flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    started = time.perf_counter()
    while (line := (await reader.readline()).strip()) != b"stop":
        if line == b"start":
            stats.reset()
            for c in clients:
                c.messages = 0
            started = time.perf_counter()
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {
        "connections": len(clients),
        "dropped": sum(c.dropped for c in clients),
        "closes": stats.closes,
        "messages_per_s": statistics.median(c.messages for c in clients) / elapsed if clients else 0,
        "messages_min_per_s": min((c.messages for c in clients), default=0) / elapsed,
    }
    kinds = ["executionReport"] if users else list(KINDS)
    merged = [sum(column) for column in zip(*(stats.lags[k] for k in kinds), strict=True)]
    result |= {f"lag_{name}_ms": _quantile(merged, q) for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))}
    result["timed"] = sum(merged)
    timed = sum(c.timed for c in clients) or 1
    for k in kinds:
        result[f"{k}_p99_ms"] = _quantile(stats.lags[k], 0.99)
        result[f"{k}_timed"] = sum(stats.lags[k])
        result[f"{k}_per_s"] = sum(stats.lags[k]) / timed / elapsed  # per client: the 100 ms streams' cadence
    print(json.dumps(result), flush=True)


# ticks and orders ----------------------------------------------------------------------------------------
class Publisher:
    """``rate`` ticks/s on the price stream, the symbols in turn, each a print with a bid/ask; behind
    schedule it catches up without sleeping."""

    def __init__(self, redis: Any, stream: str, rate: int, symbols: int) -> None:
        self.redis, self.stream, self.rate = redis, stream, rate
        self.symbols = SYMBOLS[:symbols]
        self.sent = 0
        self.prices = dict.fromkeys(self.symbols, BASE)
        self.running = True

    async def run(self) -> None:
        rng = random.Random(1)
        cent = Decimal("0.01")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while self.running:  # a flag, not a cancel: a cancelled redis call may swallow it and hang the exit
            delay = t0 + self.sent / self.rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            symbol = self.symbols[self.sent % len(self.symbols)]
            p = min(max(self.prices[symbol] + Decimal(rng.randint(-500, 500)) / 100, BASE * 98 / 100), BASE * 102 / 100)
            self.prices[symbol] = p
            qty = str(Decimal(rng.randint(1, 99999)) / 100000)
            tick = {"symbol": symbol, "price": str(p), "bid": str(p - cent), "ask": str(p + cent), "qty": qty}
            await self.redis.xadd(self.stream, tick, maxlen=100_000, approximate=True)
            self.sent += 1


def signed_order(key: str, secret: str) -> bytes:
    """A market buy as a signed ``POST /api/v3/order`` request, timestamped now."""
    body = f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&recvWindow=60000&timestamp={int(time.time() * 1000)}"
    body += "&signature=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return (
        f"POST /api/v3/order HTTP/1.1\r\nHost: bench\r\nX-MBX-APIKEY: {key}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


async def place_orders(host: str, port: int, accounts: list[tuple[str, str]], rate: float, seconds: float) -> list[int]:
    """``rate`` orders/s in all, each account on its own keep-alive connection at ``rate / len(accounts)``
    (staggered; a connection whose answer is late sends its next order at once). Answers: [ok, errors]."""
    counts = [0, 0]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    every = len(accounts) / rate

    async def account(i: int, key: str, secret: str) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        n = 0
        try:
            while (due := t0 + (i / len(accounts) + n) * every) < t0 + seconds:
                if (delay := due - loop.time()) > 0:
                    await asyncio.sleep(delay)
                writer.write(signed_order(key, secret))
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                counts[0 if head.startswith(b"HTTP/1.1 2") else 1] += 1
                n += 1
        finally:
            writer.close()

    await asyncio.gather(*(account(i, k, s) for i, (k, s) in enumerate(accounts)))
    return counts


def create_accounts(url: str, n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        body = json.dumps({"name": f"ws-{i}", "balances": {"USDT": "10000000"}}).encode()
        request = urllib.request.Request(
            f"{url}/admin/accounts", body, {"x-api-key": API_KEY, "Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            made = json.loads(r.read())
        out.append((made["apiKey"], made["secret"]))
    return out


async def prepare(valkey_url: str, symbols: int) -> None:
    from app.engine.exchange import Exchange
    from app.settings import Settings

    settings = Settings(redis_url=valkey_url, namespace=NAMESPACE, price_stream=f"{NAMESPACE}:prices", test_env=True)
    async with await Exchange.open(settings) as ex:
        await ex.reset()
        for symbol in SYMBOLS[:symbols]:
            await ex.push_price(symbol, BASE, bid=BASE - Decimal("0.01"), ask=BASE + Decimal("0.01"))


# the run --------------------------------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _machine() -> list[int]:
    """The machine's CPU time counters (``/proc/stat``): user nice system idle iowait irq softirq steal."""
    return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


async def _entries_read(redis: Any, stream: str) -> int:
    groups = await redis.xinfo_groups(stream)
    return int(groups[0].get("entries-read") or 0) if groups else 0


class Run:
    """The processes of one run and the measurements made across them."""

    def __init__(self, args: argparse.Namespace, api: subprocess.Popen[bytes], worker: subprocess.Popen[bytes],
                 api_url: str, redis: Any, publisher: Publisher) -> None:  # fmt: skip
        self.args, self.api, self.worker, self.api_url = args, api, worker, api_url
        self.redis, self.publisher = redis, publisher
        self.stream = f"{NAMESPACE}:prices"

    async def level(
        self, n: int, users: Path | None = None, accounts: list[tuple[str, str]] | None = None
    ) -> dict[str, Any]:
        args = self.args
        subs = None
        if n:
            command = [sys.executable, __file__, "--serve-subscribers", str(n), "--url", self.api_url,
                       "--symbols", str(args.symbols)] + (["--users-file", str(users)] if users else [])  # fmt: skip
            subs = await asyncio.create_subprocess_exec(
                *command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
            )
            assert subs.stdout is not None
            assert subs.stdin is not None
            ready = json.loads(await asyncio.wait_for(subs.stdout.readline(), 120))
            print(f"  {ready['ready']} connected", file=sys.stderr, flush=True)
        host, port = re.match(r"http://([^:/]+):(\d+)", self.api_url).groups()  # type: ignore[union-attr]
        try:
            if accounts:
                await place_orders(host, int(port), accounts, args.orders_rate, 1.0)  # warm-up
            await asyncio.sleep(args.warmup)
            if subs is not None:
                subs.stdin.write(b"start\n")  # type: ignore[union-attr]
            pids = {"api": self.api.pid, "worker": self.worker.pid} | ({"subs": subs.pid} if subs else {})
            cpu, machine = {name: _cpu_seconds(pid) for name, pid in pids.items()}, _machine()
            read, sent, started = await _entries_read(self.redis, self.stream), self.publisher.sent, time.perf_counter()
            orders = [0, 0]
            if accounts:
                orders = await place_orders(host, int(port), accounts, args.orders_rate, args.duration)
            else:
                await asyncio.sleep(args.duration)
            elapsed = time.perf_counter() - started
            absorbed = await _entries_read(self.redis, self.stream) - read
            cpu = {name: (_cpu_seconds(pid) - cpu[name]) / elapsed for name, pid in pids.items()}
            spent = [b - a for a, b in zip(machine, _machine(), strict=True)]
            result: dict[str, Any] = {
                "subscribers": n,
                "ticks_published_per_s": (self.publisher.sent - sent) / elapsed,
                "ticks_absorbed_per_s": absorbed / elapsed,
                "worker_behind": max(0, self.publisher.sent - await _entries_read(self.redis, self.stream)),
                **{f"{name}_cpu": share for name, share in cpu.items()},
                "machine_busy_pct": 100 * (sum(spent) - spent[3] - spent[4]) / max(1, sum(spent)),
            }
            if accounts:
                result |= {"orders_per_s": orders[0] / elapsed, "orders": orders[0], "order_errors": orders[1]}
            if subs is not None:
                await asyncio.sleep(args.drain)  # the last messages arrive
                subs.stdin.write(b"stop\n")  # type: ignore[union-attr]
                result |= json.loads(await asyncio.wait_for(subs.stdout.readline(), 60))  # type: ignore[union-attr]
            return result
        finally:
            if subs is not None:
                subs.terminate()
                await subs.wait()
            await asyncio.sleep(0.5)  # the API lets go of the closed connections


def _ms(r: dict[str, Any], key: str) -> str:
    return f"{r[key]:.0f}" if r.get(key) is not None else "-"


def _table(
    args: argparse.Namespace, market: list[dict[str, Any]], user: dict[str, Any] | None, loads: list[float]
) -> str:
    load = f"load average {min(loads):.1f}–{max(loads):.1f}" if loads else ""
    lines = [
        f"\n{args.rate} ticks/s over {args.symbols} symbol(s), {args.duration:g} s per count, one API process; {load}, "
        f"{os.cpu_count()} cores shared by Valkey, the API, the worker, the subscribers and this process",
        f"{'subscribers':>11} {'msgs/s each':>11} {'p50 lag':>8} {'p99 lag':>8} {'max lag':>8} {'trade p99':>9} "
        f"{'depth p99':>9} {'kline p99':>9} {'dropped':>8} {'ticks/s in':>10} {'API CPU':>8} {'worker CPU':>10} "
        f"{'subs CPU':>8} {'busy':>5} {'depth/s':>7}",
    ]
    for r in market:
        lines.append(
            f"{r['subscribers']:>11} {r.get('messages_per_s', 0):11.1f} {_ms(r, 'lag_p50_ms'):>8} "
            f"{_ms(r, 'lag_p99_ms'):>8} "
            f"{_ms(r, 'lag_max_ms'):>8} {_ms(r, 'trade_p99_ms'):>9} {_ms(r, 'depthUpdate_p99_ms'):>9} "
            f"{_ms(r, 'kline_p99_ms'):>9} {r.get('dropped', 0):>8} {r['ticks_absorbed_per_s']:10.0f} "
            f"{r['api_cpu']:8.2f} {r['worker_cpu']:10.2f} {r.get('subs_cpu', 0):8.2f} {r['machine_busy_pct']:4.0f}% "
            f"{r.get('depthUpdate_per_s', 0):7.1f}"
        )
    if user is not None:
        lines += [
            f"\nuser data streams: {user['subscribers']} accounts, one /ws-api/v3 subscription each, "
            f"{args.orders_rate:g} orders/s asked (signed POST /api/v3/order), ticks flowing",
            f"{'orders/s':>9} {'errors':>7} {'NEW reports':>11} {'p50 lag':>8} {'p99 lag':>8} {'max lag':>8} "
            f"{'dropped':>8} {'ticks/s in':>10} {'API CPU':>8} {'subs CPU':>8} {'busy':>5}",
            f"{user['orders_per_s']:9.0f} {user['order_errors']:>7} {user['executionReport_timed']:>11} "
            f"{_ms(user, 'lag_p50_ms'):>8} {_ms(user, 'lag_p99_ms'):>8} {_ms(user, 'lag_max_ms'):>8} "
            f"{user['dropped']:>8} {user['ticks_absorbed_per_s']:10.0f} {user['api_cpu']:8.2f} {user['subs_cpu']:8.2f} "
            f"{user['machine_busy_pct']:4.0f}%",
        ]
    return "\n".join(lines)


Results = tuple[list[dict[str, Any]], dict[str, Any] | None, list[float]]


async def run(args: argparse.Namespace, api: subprocess.Popen[bytes], worker: subprocess.Popen[bytes],
              api_url: str, valkey_url: str) -> Results:  # fmt: skip
    from app.store.embedded import redis_client

    redis = redis_client(valkey_url)
    publisher = Publisher(redis, f"{NAMESPACE}:prices", args.rate, args.symbols)
    accounts = await asyncio.to_thread(create_accounts, api_url, args.users)
    ticking = asyncio.create_task(publisher.run())
    this = Run(args, api, worker, api_url, redis, publisher)
    market: list[dict[str, Any]] = []
    user = None
    loads = [os.getloadavg()[0]]
    try:
        for n in [int(x) for x in args.subscribers.split(",")]:
            market.append(await this.level(n))
            loads.append(os.getloadavg()[0])
            print(f"  {n} subscribers: {market[-1]}", file=sys.stderr, flush=True)
        if accounts:
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump(accounts, f)
            try:
                user = await this.level(len(accounts), Path(f.name), accounts)
            finally:
                os.unlink(f.name)
            loads.append(os.getloadavg()[0])
            print(f"  user data: {user}", file=sys.stderr, flush=True)
    finally:
        publisher.running = False
        done, _ = await asyncio.wait({ticking}, timeout=5)
        if not done:
            ticking.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(redis.aclose(), 5)
    return market, user, loads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", default="0,100,500", help="comma-separated market stream subscriber counts")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per count")
    parser.add_argument("--rate", type=int, default=200, help="ticks/s published for the whole run")
    parser.add_argument("--symbols", type=int, default=1, choices=range(1, len(SYMBOLS) + 1), metavar="1-8",
                        help="symbols the ticks go round (subscriber i follows symbol i mod N)")  # fmt: skip
    parser.add_argument("--users", type=int, default=100, help="accounts with a user data stream (0: skip)")
    parser.add_argument("--orders-rate", type=float, default=200.0, help="orders/s in all during the user phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each measurement")
    parser.add_argument("--drain", type=float, default=1.0, help="seconds for the last messages to arrive")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument("--verbose", action="store_true", help="show the API's and the worker's logs")
    parser.add_argument("--serve-subscribers", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--users-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import uvloop

        start: Callable[[Coroutine[Any, Any, Any]], Any] = uvloop.run
    except ImportError:  # pragma: no cover
        start = asyncio.run
    if args.serve_subscribers:
        start(subscribers(args.url, args.serve_subscribers, args.symbols, args.users_file))
        return 0

    from app.store.embedded import EmbeddedValkey

    with tempfile.TemporaryDirectory(prefix="mockx-bench-") as tmp:
        valkey = EmbeddedValkey(Path(tmp), port=_free_port(), persist=True)
        valkey.start()
        asyncio.run(prepare(valkey.url, args.symbols))
        env = dict(os.environ, REDIS_URL=valkey.url, NAMESPACE=NAMESPACE, PRICE_STREAM=f"{NAMESPACE}:prices",
                   API_KEY=API_KEY, TEST_ENV="false", MOCKX_DATA_DIR=str(Path(tmp) / "data"),
                   PYTHONPATH=str(ROOT))  # fmt: skip
        port = _free_port()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if not args.verbose else {}
        mockx = [sys.executable, "-c", "from cli.main import main; main()"]
        api = subprocess.Popen(
            [*mockx, "serve", "--port", str(port), "--log-level", "warning"], env=env, cwd=ROOT, **quiet,  # type: ignore[call-overload]
        )  # fmt: skip
        worker = subprocess.Popen([*mockx, "worker", "--name", "bench", "--no-sweep"], env=env, cwd=ROOT, **quiet)  # type: ignore[call-overload]
        api_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(api_url, api)
            market, user, loads = start(run(args, api, worker, api_url, valkey.url))
        finally:
            _stop(worker)
            _stop(api)
            valkey.stop()

    if args.json:
        print(json.dumps({"market": market, "user": user, "load": loads}, indent=2))
    print(_table(args, market, user, loads), file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
