"""Market orders per second through HTTP, beside the ceiling of the same stack (a bare route doing one EVALSHA).

    .venv/bin/python bench/orders.py                     # mockx serve (uvicorn), 64 connections, 3 rounds
    .venv/bin/python bench/orders.py --server granian    # the same with granian (pip install granian)
    .venv/bin/python bench/orders.py --server both       # both servers, same load, one after the other
    .venv/bin/python bench/orders.py --dialect binance   # also signed POST /api/v3/order (Binance dialect)

What runs: a fresh embedded Valkey (AOF everysec, as ``mockx serve`` runs it), one API process started
with ``mockx serve`` (auth on: every request carries ``x-api-key``), and one ceiling process: a bare
Litestar app whose only route decodes the same body and does one EVALSHA, served by the same ASGI server
with the same options and talking to Valkey over the same multiplexed link as the API. The load
generator is ``wrk`` (``apt-get install wrk``) with 2 threads and 64 connections, each round measuring
the ceiling and then the orders back to back; the report gives the median of the rounds. Without wrk, a
small asyncio HTTP/1.1 generator stands in (it costs more CPU, so its numbers are lower). Everything
shares the machine's cores, as in the README's figures.

With ``--dialect binance`` each round also measures the Binance dialect: the same market order as a signed
``POST /api/v3/order`` (an HMAC-SHA256 form body with ``X-MBX-APIKEY``, re-signed before each measurement
with ``recvWindow=60000``, so one signed body stays valid for the whole measurement; the server generates each
order's clientOrderId), reported against the native ``POST /orders`` of the same round.

After the run, the number of orders stored must match the successful responses (give or take the requests
still in flight when the generator stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-secret-key"
API_SECRET = "bench-hmac-secret"
NAMESPACE = "bench"
ORDER = b'{"symbol":"BTC/USDT","side":"buy","amount":"0.001"}'


@dataclass(frozen=True)
class Request:
    """One request the generator repeats: path, body and headers."""

    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


NATIVE = Request("/orders", ORDER, (("Content-Type", "application/json"), ("x-api-key", API_KEY)))


def binance_order() -> Request:
    """The same market order, signed for the Binance dialect now (valid for the next 60 s)."""
    import hmac

    body = f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&recvWindow=60000&timestamp={int(time.time() * 1000)}"
    signature = hmac.new(API_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    headers = (("Content-Type", "application/x-www-form-urlencoded"), ("X-MBX-APIKEY", API_KEY))
    return Request("/api/v3/order", f"{body}&signature={signature}".encode(), headers)


# the ceiling: one bare Litestar route, one EVALSHA ------------------------------------------------------------
class Body(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str
    side: str
    amount: str


def ceiling_app() -> Any:
    """A Litestar app with one route: decode the order body, run one EVALSHA, answer a small JSON object.

    It talks to Valkey the way the API's hot path does (:class:`app.store.transport.Link`), so the gap between the two
    rows is what MockX itself costs: auth, validation, pricing, three commands instead of one, the order.
    """
    from litestar import Litestar, get, post
    from redis.exceptions import NoScriptError

    from app.store.transport import open_link

    link = open_link(os.environ["REDIS_URL"])
    assert link is not None
    source = "return redis.call('INCR', KEYS[1])"
    sha = hashlib.sha1(source.encode()).hexdigest()
    key = "{" + NAMESPACE + "}:ceiling"

    @post("/orders", status_code=201)
    async def order(data: Body) -> dict[str, Any]:
        try:
            n = await link.call("EVALSHA", sha, 1, key)
        except NoScriptError:
            await link.call("SCRIPT", "LOAD", source)
            n = await link.call("EVALSHA", sha, 1, key)
        return {"id": str(n), "symbol": data.symbol, "side": data.side, "amount": data.amount}

    @get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([order, livez], logging_config=None)


# load generators ----------------------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(name: str, url: str, connections: int, seconds: float, threads: int, req: Request = NATIVE) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(f"wrk.method = \"POST\"\nwrk.body = '{req.body.decode()}'\n")
        f.writelines(f'wrk.headers["{k}"] = "{v}"\n' for k, v in req.headers)
        script = f.name
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", script, url + req.path],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script)
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    return Result(name, requests, errors, seconds, rps, p50, p99)


async def _asyncio_load(
    host: str, port: int, connections: int, seconds: float, req: Request
) -> tuple[list[float], int]:
    headers = "".join(f"{k}: {v}\r\n" for k, v in req.headers)
    request = (
        f"POST {req.path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {len(req.body)}\r\n\r\n"
    ).encode() + req.body
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")):
                errors += 1
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, errors


def run_asyncio(name: str, url: str, connections: int, seconds: float, req: Request = NATIVE) -> Result:
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()  # type: ignore[union-attr]
    started = time.perf_counter()
    latencies, errors = asyncio.run(_asyncio_load(host, int(port), connections, seconds, req))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return Result(name, len(latencies), errors, elapsed, len(latencies) / elapsed, q[49] * 1000, q[98] * 1000)


# processes ----------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/livez", timeout=1) as r:
            if r.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _prepare(url: str) -> None:
    from app.engine.exchange import Exchange
    from app.settings import Settings

    settings = Settings(redis_url=url, namespace=NAMESPACE, price_stream=f"{NAMESPACE}:prices", test_env=True)
    async with await Exchange.open(settings) as ex:
        await ex.reset()
        await ex.deposit("USDT", Decimal("5000000000"))
        await ex.push_price("BTC/USDT", Decimal("50000"), bid=Decimal("49999.99"), ask=Decimal("50000.01"))


async def _orders_stored(url: str) -> int:
    from app.store.embedded import redis_client
    from app.store.keys import Keys

    redis = redis_client(url)
    try:
        return int(await redis.zcard(Keys(NAMESPACE).order_ids))
    finally:
        await redis.aclose()


def bench_server(server: str, args: argparse.Namespace, valkey_url: str, data_dir: Path) -> dict[str, Any]:
    asyncio.run(_prepare(valkey_url))
    env = dict(os.environ, REDIS_URL=valkey_url, NAMESPACE=NAMESPACE, PRICE_STREAM=f"{NAMESPACE}:prices",
               API_KEY=API_KEY, API_SECRET=API_SECRET, TEST_ENV="false", MOCKX_DATA_DIR=str(data_dir),
               PYTHONPATH=str(ROOT))  # fmt: skip
    api_port, ceiling_port = _free_port(), _free_port()
    mockx = [sys.executable, "-c", "from cli.main import main; main()"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if not args.verbose else {}
    api = subprocess.Popen(
        [*mockx, "serve", "--port", str(api_port), "--server", server, "--log-level", "warning"],
        env=env, cwd=ROOT, **quiet,  # type: ignore[call-overload]
    )  # fmt: skip
    ceiling = subprocess.Popen(
        [sys.executable, __file__, "--serve-ceiling", str(ceiling_port), "--server", server],
        env=env, cwd=ROOT, **quiet,  # type: ignore[call-overload]
    )  # fmt: skip
    api_url, ceiling_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ceiling_port}"
    try:
        _wait_ready(api_url, api)
        _wait_ready(ceiling_url, ceiling)
        use_wrk = shutil.which("wrk") is not None and not args.asyncio

        def load(name: str, url: str, seconds: float, req: Request = NATIVE) -> Result:
            if use_wrk:
                return run_wrk(name, url, args.connections, seconds, args.threads, req)
            return run_asyncio(name, url, args.connections, seconds, req)

        binance = args.dialect == "binance"
        load("warm-up", ceiling_url, 2)
        load("warm-up", api_url, 2)
        if binance:
            load("warm-up", api_url, 2, binance_order())
        before = asyncio.run(_orders_stored(valkey_url))
        rounds: list[tuple[Result, Result]] = []
        signed: list[Result] = []
        for i in range(args.rounds):
            c = load("ceiling", ceiling_url, args.duration)
            o = load("orders", api_url, args.duration)
            rounds.append((c, o))
            b = load("binance", api_url, args.duration, binance_order()) if binance else None
            if b is not None:
                signed.append(b)
            extra = f" | binance {b.rps:7.0f} /s p50 {b.p50_ms:5.1f} ms errors {b.errors}" if b else ""
            print(f"  {server} round {i + 1}: ceiling {c.rps:7.0f} req/s p50 {c.p50_ms:5.1f} ms p99 {c.p99_ms:5.1f} ms"
                  f" | orders {o.rps:7.0f} /s p50 {o.p50_ms:5.1f} ms p99 {o.p99_ms:5.1f} ms"
                  f" errors {c.errors + o.errors}{extra}", file=sys.stderr, flush=True)  # fmt: skip
        stored = asyncio.run(_orders_stored(valkey_url)) - before
    finally:
        _stop(api)
        _stop(ceiling)
    ok = sum(o.requests - o.errors for _, o in rounds) + sum(b.requests - b.errors for b in signed)
    binance_figures = {
        "binance_rps": statistics.median(b.rps for b in signed),
        "binance_p50_ms": statistics.median(b.p50_ms for b in signed),
        "binance_p99_ms": statistics.median(b.p99_ms for b in signed),
        "binance_errors": sum(b.errors for b in signed),
    } if signed else {}  # fmt: skip
    return {
        **binance_figures,
        "server": server,
        "generator": "wrk" if use_wrk else "asyncio",
        "connections": args.connections,
        "rounds": [{"ceiling": asdict(c), "orders": asdict(o)} for c, o in rounds],
        "ceiling_rps": statistics.median(c.rps for c, _ in rounds),
        "ceiling_p50_ms": statistics.median(c.p50_ms for c, _ in rounds),
        "ceiling_p99_ms": statistics.median(c.p99_ms for c, _ in rounds),
        "orders_rps": statistics.median(o.rps for _, o in rounds),
        "orders_p50_ms": statistics.median(o.p50_ms for _, o in rounds),
        "orders_p99_ms": statistics.median(o.p99_ms for _, o in rounds),
        "errors": sum(c.errors + o.errors for c, o in rounds),
        "orders_stored": stored,
        "orders_answered": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["uvicorn", "granian", "both"], default="uvicorn")
    parser.add_argument("--dialect", choices=["native", "binance"], default="native",
                        help="binance: also measure signed POST /api/v3/order against native POST /orders")  # fmt: skip
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-aof", action="store_true", help="run Valkey without persistence")
    parser.add_argument("--asyncio", action="store_true", help="use the asyncio generator even if wrk exists")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument("--verbose", action="store_true", help="show the servers' logs")
    parser.add_argument("--serve-ceiling", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    if args.serve_ceiling:
        from cli.commands.serve import run_server

        run_server("bench.orders:ceiling_app", host="127.0.0.1", port=args.serve_ceiling, server=args.server,
                   log_level="warning")  # fmt: skip
        return 0

    from app.store.embedded import EmbeddedValkey

    results = []
    with tempfile.TemporaryDirectory(prefix="mockx-bench-") as tmp:
        valkey = EmbeddedValkey(Path(tmp), port=_free_port(), persist=not args.no_aof)
        valkey.start()
        try:
            for server in ("uvicorn", "granian") if args.server == "both" else (args.server,):
                results.append(bench_server(server, args, valkey.url, Path(tmp) / "data"))
        finally:
            valkey.stop()

    if args.json:
        print(json.dumps(results, indent=2))
    out = sys.stderr if args.json else sys.stdout
    cores = os.cpu_count()
    lines = [
        f"\n{args.connections} connections, {args.rounds} x {args.duration:g} s, medians "
        f"({results[0]['generator']}; {cores} cores shared by generator, server and Valkey)",
        f"{'server':8} {'what':26} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}",
    ]
    failed = False
    for r in results:
        share = r["orders_rps"] / r["ceiling_rps"]
        lines.append(
            f"{r['server']:8} {'ceiling (1 EVALSHA)':26} {r['ceiling_rps']:8.0f} {r['ceiling_p50_ms']:7.1f} "
            f"{r['ceiling_p99_ms']:7.1f}"
        )
        lines.append(
            f"{r['server']:8} {'market orders (POST)':26} {r['orders_rps']:8.0f} {r['orders_p50_ms']:7.1f} "
            f"{r['orders_p99_ms']:7.1f}   {share:.0%} of the ceiling"
        )
        if "binance_rps" in r:
            lines.append(
                f"{r['server']:8} {'signed POST /api/v3/order':26} {r['binance_rps']:8.0f} {r['binance_p50_ms']:7.1f} "
                f"{r['binance_p99_ms']:7.1f}   {r['binance_rps'] / r['orders_rps']:.2f}x native POST /orders"
            )
        in_flight = r["orders_stored"] - r["orders_answered"]  # requests wrk cut off when its time was up
        rounds_cut = args.rounds * (2 if "binance_rps" in r else 1) + 1
        if r["errors"] or r.get("binance_errors") or not 0 <= in_flight <= args.connections * rounds_cut:
            failed = True
            lines.append(
                f"  ! {r['errors']} errors; {r['orders_stored']} orders stored for "
                f"{r['orders_answered']} successful responses"
            )
    print("\n".join(lines), file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
