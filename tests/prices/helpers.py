"""Helpers of the price tests: polling with a deadline, state snapshots, the money invariants."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from app.engine.exchange import Exchange
from app.engine.health import read_backlog
from app.store.records import order_decoder, trade_decoder

MOCKX = str(Path(sys.executable).with_name("mockx"))


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 15.0) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


async def exited(proc: subprocess.Popen[bytes], seconds: float = 10.0) -> int:
    """Wait for a child process to exit; its return code."""

    async def done() -> bool:
        return proc.poll() is not None

    await wait_until(done, f"process {proc.pid} to exit", seconds)
    return proc.returncode


async def run_mockx(*args: str, env: dict[str, str], seconds: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``mockx ARGS`` to completion without blocking the event loop."""
    proc = await asyncio.create_subprocess_exec(
        MOCKX, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(seconds):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def stream_done(redis: Redis, stream: str, group: str = "settlement") -> bool:
    """Every entry of the stream delivered and acknowledged by the group."""
    try:
        return (await read_backlog(redis, stream, group)).backlog == 0
    except Exception:
        return False


async def money_problems(ex: Exchange) -> list[str]:
    """The money invariants: no negative balance, ``used`` is what open orders reserve, one trade per fill."""
    balances = await ex.redis.hgetall(ex.keys.balances)
    orders = [order_decoder.decode(raw) for raw in (await ex.redis.hgetall(ex.keys.orders)).values()]
    trades = [trade_decoder.decode(raw) for raw in (await ex.redis.hgetall(ex.keys.trades)).values()]
    problems = [f"{field} is negative: {value}" for field, value in balances.items() if int(value) < 0]
    reserved: dict[str, int] = {}
    for o in orders:
        if o.st == "open":
            reserved[o.ra] = reserved.get(o.ra, 0) + int(o.res)
        elif int(o.res) != 0:
            problems.append(f"order {o.id} is {o.st} but still reserves {o.res}")
    assets = {f.rsplit(":", 1)[0] for f in balances} | set(reserved)
    for asset in sorted(assets):
        used = int(balances.get(f"{asset}:used", 0))
        if used != reserved.get(asset, 0):
            problems.append(f"{asset} used {used} != reserved by open orders {reserved.get(asset, 0)}")
    per_order: dict[str, int] = {}
    for t in trades:
        per_order[t.oid] = per_order.get(t.oid, 0) + 1
    problems += [f"order {oid} has {n} trades" for oid, n in per_order.items() if n != 1]
    closed = {o.id for o in orders if o.st == "closed"}
    if closed != set(per_order):
        problems.append(f"closed orders {sorted(closed)} != orders with a trade {sorted(per_order)}")
    return problems


async def snapshot(ex: Exchange, *, trade_times: bool = True) -> dict[str, Any]:
    """Everything a fill changes, without the wall-clock stamps of orders."""
    orders = {
        o.id: (o.sym, o.side, o.px, o.amt, o.st, o.filled, o.cost, o.fee, o.fpx, o.res)
        for o in (order_decoder.decode(raw) for raw in (await ex.redis.hgetall(ex.keys.orders)).values())
    }
    trades = sorted(
        (t.oid, t.px, t.amt, t.cost, t.fee, t.ts if trade_times else "")
        for t in (trade_decoder.decode(raw) for raw in (await ex.redis.hgetall(ex.keys.trades)).values())
    )
    return {
        "balances": await ex.redis.hgetall(ex.keys.balances),
        "stats": await ex.redis.hgetall(ex.keys.stats),
        "orders": orders,
        "trades": trades,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """``mockx`` child processes of one test, output in files, all killed at the end."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = self.tmp / f"proc{len(self.procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([MOCKX, *args], env=env or self.env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append((proc, log))
        return proc

    def output(self, proc: subprocess.Popen[bytes]) -> str:
        for p, log in self.procs:
            if p is proc:
                return log.read_text(encoding="utf-8", errors="replace")
        raise KeyError(proc)

    def stop_all(self) -> None:
        for proc, _ in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
