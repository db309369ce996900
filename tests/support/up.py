"""``mockx up`` run by a test as a newcomer runs it: a fresh data directory, no URL, no key, no REDIS_URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.support.processes import MOCKX

UNSET = ("REDIS_URL", "VALKEY_URL", "TEST_ENV", "API_KEY", "MOCKX_API_KEY", "MOCKX_URL", "ENGINE_PORT")


def up_env(subprocess_env: dict[str, str], directory: Path) -> dict[str, str]:
    """The test's environment without anything that says where the API is or which key it takes."""
    env = {k: v for k, v in subprocess_env.items() if k not in UNSET}
    env["MOCKX_DATA_DIR"] = str(directory)
    return env


def descendants(root: int) -> set[int]:
    """Every process below ``root``, from the parent links in /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


class Up:
    """A real ``mockx up`` on ``port``: its banner on a pipe, its stderr in ``log``."""

    def __init__(self, env: dict[str, str], directory: Path, port: int, log: Path, *args: str) -> None:
        self.directory = directory
        self.url = f"http://127.0.0.1:{port}"
        with log.open("ab") as err:
            self.process = subprocess.Popen(
                [MOCKX, "up", "--port", str(port), "--workers", "1", *args],
                env=env, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True,
            )  # fmt: skip
        self.log = log

    def record(self) -> dict[str, Any]:
        try:
            record: dict[str, Any] = json.loads((self.directory / "up.json").read_text())
        except (OSError, ValueError):
            return {}
        return record

    def wait_ready(self) -> str:
        """The banner, once printed (the supervisor prints it when the API and the workers are ready)."""
        assert self.process.stdout is not None
        banner = []
        for line in self.process.stdout:
            banner.append(line)
            if "Ctrl-C stops everything" in line:
                return "".join(banner)
        raise AssertionError(f"mockx up exited {self.process.wait()} before it was ready:\n{self.log.read_text()}")

    def interrupt(self) -> int:
        os.kill(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the supervisor alone: its children must stop by themselves."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
