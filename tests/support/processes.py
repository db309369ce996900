"""``mockx`` child processes: one-shot runs, long-running ones owned by a test, ``mockx serve`` on a port.

Every one is the real ``mockx`` executable of this virtualenv. Servers run in their own process group, so
killing one (a crash) takes the ASGI server's worker processes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.waiting import wait_for, wait_until

MOCKX = str(Path(sys.executable).with_name("mockx"))


def gone(pid: int) -> bool:
    """The process no longer exists (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


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


class Server:
    """``mockx serve`` on a port, started, killed and restarted by the test."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.env = env
        self.log = log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [MOCKX, "serve", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        process = self.process

        def answers() -> bool:
            assert process.poll() is None, f"mockx serve exited:\n{self.output()}"
            try:
                return httpx.get(f"{self.url}/livez", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, f"mockx serve on {self.url}")
        return self

    def kill(self) -> None:
        """SIGKILL the server and its worker processes: a crash, not a shutdown."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def terminate(process: subprocess.Popen[bytes] | subprocess.Popen[str], seconds: float = 15.0) -> None:
    """SIGTERM, then SIGKILL what is still running after ``seconds``; the process is reaped either way."""
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
