"""CLI test fixtures: a real ``mockx serve`` and a real ``mockx worker`` on the test's Valkey and namespace.

Every command under test runs as the real ``mockx`` executable in a child process, with ``MOCKX_URL``
pointing at the test's API. Servers run in their own process group, so killing one (a crash, in the
watch test) takes the ASGI server's worker processes with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

MOCKX = str(Path(sys.executable).with_name("mockx"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], object], what: str, seconds: float = 30.0, every: float = 0.05) -> None:
    """Poll ``check`` until it returns something true, or fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f} s waiting for {what}"
        time.sleep(every)


def shows(text: str, *parts: str) -> None:
    """Assert that ``text`` contains every one of ``parts``."""
    missing = [part for part in parts if part not in text]
    assert not missing, f"{missing} not in:\n{text}"


def gone(pid: int) -> bool:
    """The process no longer exists (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


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


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


class Cli:
    """Runs ``mockx ARGS`` as a child process against the test's API."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [MOCKX, *args], env=env or self.env, input=input, capture_output=True, text=True, timeout=60
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, input: str | None = None) -> str:
        """Run and assert success; return stdout."""
        result = self(*args, input=input)
        assert result.code == 0, f"mockx {' '.join(args)}: {result}"
        assert "Traceback" not in result.err, str(result)
        return result.out

    def fails(self, code: int, *args: str, input: str | None = None) -> str:
        """Run and assert it fails with ``code`` and one line on stderr, no traceback; return stderr."""
        result = self.exits(code, *args, input=input)
        return result.err

    def exits(self, code: int, *args: str, input: str | None = None) -> Result:
        """Run and assert the exit code (and no traceback); return the whole result."""
        result = self(*args, input=input)
        assert result.code == code, f"mockx {' '.join(args)}: {result}"
        assert "Traceback" not in result.err, str(result)
        return result


@pytest.fixture
def api(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    """A real ``mockx serve`` (TEST_ENV) on the test's Valkey and namespace."""
    server = Server(subprocess_env, tmp_path / "serve.log")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def worker(subprocess_env: dict[str, str], tmp_path: Path, api: Server) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``mockx worker`` in the test's consumer group; ready once the API's health counts it."""
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [MOCKX, "worker", "--name", "cli-test"], env=subprocess_env, stdout=out, stderr=subprocess.STDOUT
        )

    def counted() -> bool:
        assert process.poll() is None, f"mockx worker exited:\n{log.read_text()}"
        return int(httpx.get(f"{api.url}/admin/health", timeout=2).json().get("workersAlive") or 0) >= 1

    wait_for(counted, "the worker's heartbeat")
    yield process
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def cli_env(subprocess_env: dict[str, str], api: Server) -> dict[str, str]:
    env = {k: v for k, v in subprocess_env.items() if k not in ("MOCKX_API_KEY", "API_KEY", "MOCKX_URL")}
    env["MOCKX_URL"] = api.url
    return env


@pytest.fixture
def cli(cli_env: dict[str, str], worker: subprocess.Popen[bytes]) -> Cli:
    """``mockx`` against the test's API, with a settlement worker running."""
    return Cli(cli_env)
