"""CLI test fixtures: a real ``mockx serve`` and a real ``mockx worker`` on the test's Valkey and namespace.

Every command under test runs as the real ``mockx`` executable in a child process, with ``MOCKX_URL``
pointing at the test's API (tests/support/cli.py and tests/support/processes.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cli import Cli
from tests.support.processes import MOCKX, Server, terminate
from tests.support.waiting import wait_for


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
    terminate(process)


@pytest.fixture
def cli_env(subprocess_env: dict[str, str], api: Server) -> dict[str, str]:
    env = {k: v for k, v in subprocess_env.items() if k not in ("MOCKX_API_KEY", "API_KEY", "MOCKX_URL")}
    env["MOCKX_URL"] = api.url
    return env


@pytest.fixture
def cli(cli_env: dict[str, str], worker: subprocess.Popen[bytes]) -> Cli:
    """``mockx`` against the test's API, with a settlement worker running."""
    return Cli(cli_env)
