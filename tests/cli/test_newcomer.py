"""What a newcomer does first, on a real ``mockx up`` with a fresh data directory and no URL, key or Valkey:
the example bot as the README runs it, ``mockx info``, a wrong key, a Ctrl-C, a killed supervisor, the feed
resuming, a start refused for a busy port.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.cli import Cli, shows
from tests.support.deploy import ORDER_GENERATOR, ROOT
from tests.support.ports import free_port
from tests.support.processes import MOCKX, gone
from tests.support.up import Up, descendants, up_env
from tests.support.waiting import wait_for


@pytest.fixture
def env(subprocess_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return up_env(subprocess_env, tmp_path / "data")


def bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The example bot, run from the checkout with the virtualenv's python, as the README runs it."""
    return subprocess.run(
        [sys.executable, str(ORDER_GENERATOR), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def where_keys_come_from(text: str, directory: Path) -> None:
    shows(text, "MOCKX_API_KEY", "--api-key", str(directory / "api-key"), "API_KEY", "`mockx up`")


def test_the_bot_finds_the_key_mockx_up_stored_and_info_shows_it(env: dict[str, str], tmp_path: Path) -> None:
    directory = tmp_path / "data"
    up = Up(env, directory, free_port(), tmp_path / "up.log", "--feed", "synthetic")
    try:
        up.wait_ready()
        key = (directory / "api-key").read_text().strip()
        done = bot(env, "--rate", "5", "--duration", "2", "--seed", "42")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["placed"] > 0, done.stderr

        facts = json.loads(Cli(env).ok("info", "--json"))
        assert (facts["url"], facts["apiKey"], facts["dataDir"]) == (up.url, key, str(directory))
        assert facts["reachable"] is True
        assert facts["docs"] is None, "auth is on: no docs"
        assert {"mockx", "mockx-cli", "valkey"} <= set(facts["versions"]), facts
        assert Cli(env).ok("info", "key").strip() == key
        secret = (directory / "api-secret").read_text().strip()
        assert (facts["apiSecret"], facts["apiSecretFrom"]) == (secret, str(directory / "api-secret"))
        assert Cli(env).ok("info", "secret").strip() == secret
        shows(Cli(env).ok("info"), up.url, key, str(directory / "api-key"), secret, str(directory))

        refused = Cli(env).fails(1, "--api-key", "wrong", "balance")  # the common options before the command
        shows(refused, "AuthenticationError")
        where_keys_come_from(refused, directory)
        done = bot(env, "--api-key", "wrong", "--duration", "1", "--wait", "0")
        assert done.returncode == 1
        shows(done.stderr, "401 AuthenticationError")
        where_keys_come_from(done.stderr, directory)
    finally:
        assert up.interrupt() == 0, up.log.read_text()


def test_ctrl_c_prints_one_line_per_process_naming_the_signal(env: dict[str, str], tmp_path: Path) -> None:
    up = Up(env, tmp_path / "data", free_port(), tmp_path / "up.log", "--feed", "synthetic")
    up.wait_ready()
    assert up.interrupt() == 0
    log = up.log.read_text()
    stop = log[log.index("mockx up: SIGINT") :].splitlines()
    assert "SIGTERM" not in "\n".join(stop), log
    assert not [line for line in stop if line.lstrip().startswith("{")], f"raw JSON lines:\n{log}"
    for name in ("api", "worker-1", "feed", "valkey"):
        assert len([line for line in stop if line.strip().startswith(f"{name}: ")]) == 1, f"{name}:\n{log}"
    assert len(stop) == 6, "the signal, four processes, the last word:\n" + "\n".join(stop)
    shows(stop[-1], "MockX stopped (SIGINT)")


def test_a_killed_supervisor_leaves_no_process_and_no_traceback(env: dict[str, str], tmp_path: Path) -> None:
    up = Up(env, tmp_path / "data", free_port(), tmp_path / "up.log")
    up.wait_ready()
    tree = descendants(up.process.pid)
    with (tmp_path / "watch.log").open("wb") as out:  # an open event stream, the API ends it at shutdown
        watch = subprocess.Popen([MOCKX, "watch"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "following the events" in (tmp_path / "watch.log").read_text(), "mockx watch to connect", 20)
        up.kill()
        wait_for(lambda: all(gone(pid) for pid in tree), "every child of the killed mockx up to exit", 20)
    finally:
        watch.kill()
        watch.wait()
    log = up.log.read_text()
    assert "Traceback" not in log, log
    assert "CancelledError" not in log, log


def test_the_synthetic_feed_starts_from_the_last_price(env: dict[str, str], tmp_path: Path) -> None:
    directory, port, cli = tmp_path / "data", free_port(), Cli(env)
    first = Up(env, directory, port, tmp_path / "up.log")
    try:
        first.wait_ready()
        cli.ok("set-price", "BTC/USDT", "1234.5")
    finally:
        assert first.interrupt() == 0
    second = Up(env, directory, port, tmp_path / "up.log", "--feed", "synthetic")
    try:
        shows(second.wait_ready(), "BTC/USDT 1234.5")
        wait_for(lambda: json.loads(cli.ok("ticker", "BTC/USDT", "--json"))["last"] != 1234.5, "a synthetic tick")
        last = Decimal(str(json.loads(cli.ok("ticker", "BTC/USDT", "--json"))["last"]))
        assert abs(last - Decimal("1234.5")) < 100, f"the feed jumped to {last}"
    finally:
        assert second.interrupt() == 0


def test_a_start_refused_for_a_busy_port_leaves_no_folder(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = Cli(env).fails(1, "up", "--data-dir", str(folder), "--port", str(port))
    shows(refused, f"port {port}", "in use")
    assert not folder.exists()
    assert not folder.parent.exists()
