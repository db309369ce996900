"""``mockx up`` end to end: embedded Valkey, API and a worker; restart with state intact; a clean stop."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx

from tests.support.cli import Cli, shows
from tests.support.ports import free_port
from tests.support.processes import gone
from tests.support.up import Up, descendants, up_env
from tests.support.waiting import wait_for


def test_up_runs_everything_resumes_its_state_and_stops_cleanly(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    directory = tmp_path / "data"
    env = up_env(subprocess_env, directory)
    port = free_port()
    cli = Cli(env)  # no URL, no key: the commands find both in the data directory

    first = Up(env, directory, port, tmp_path / "up.log")
    try:
        banner = first.wait_ready()
        key = (directory / "api-key").read_text().strip()
        secret = (directory / "api-secret").read_text().strip()
        for name in ("api-key", "api-secret"):
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
        assert len(secret) == 64
        shows(banner, first.url, key, secret, "API secret")
        assert httpx.get(f"{first.url}/balance").status_code == 401, "authentication is on"
        assert httpx.get(f"{first.url}/balance", headers={"x-api-key": key}).status_code == 200

        cli.ok("fund", "USDT", "1000")
        cli.ok("set-price", "BTC/USDT", "50000")
        cli.ok("order", "BTC/USDT", "buy", "0.01")
        resting = json.loads(cli.ok("order", "BTC/USDT", "sell", "0.005", "--price", "60000", "--json"))
        health = json.loads(cli.ok("health", "--json"))
        assert (health["status"], health["workersAlive"]) == ("ok", 1)

        record = first.record()
        assert record["pid"] == first.process.pid
        assert record["url"] == first.url
        assert {"valkey", "api", "worker-1"} <= set(record["pids"]), record
        tree = descendants(first.process.pid)
        assert set(record["pids"].values()) - {first.process.pid} <= tree
        assert len(tree) >= 3, "valkey, the API (and its server worker, if the server has one), the settlement worker"

        assert "already running" in cli.fails(1, "up", "--port", str(free_port()))
    finally:
        assert first.interrupt() == 0, first.log.read_text()
    wait_for(lambda: all(gone(pid) for pid in tree), "every child of mockx up to exit", seconds=10)
    assert "pid" not in first.record()
    assert first.record()["url"] == first.url

    second = Up(env, directory, port, tmp_path / "up.log")
    try:
        banner = second.wait_ready()
        assert (directory / "api-key").read_text().strip() == key, "the same key"
        assert (directory / "api-secret").read_text().strip() == secret, "the same secret"
        shows(banner, key, secret)
        balance = json.loads(cli.ok("balance", "--json"))
        assert balance["total"] == {"BTC": 0.01, "USDT": 499.625}, "the state survived the restart"
        assert json.loads(cli.ok("order-info", resting["id"], "--json"))["status"] == "open"
        cli.ok("set-price", "BTC/USDT", "61000")
        assert json.loads(cli.ok("order-info", resting["id"], "--json"))["status"] == "closed"
        tree = descendants(second.process.pid)
    finally:
        assert second.interrupt() == 0, second.log.read_text()
    wait_for(lambda: all(gone(pid) for pid in tree), "every child of mockx up to exit", seconds=10)
    assert "MockX stopped (SIGINT)" in (tmp_path / "up.log").read_text()


def test_up_takes_the_environment_key_and_secret_as_given(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    directory = tmp_path / "data"
    env = {
        k: v
        for k, v in subprocess_env.items()
        if k not in ("REDIS_URL", "VALKEY_URL", "TEST_ENV", "MOCKX_API_KEY", "MOCKX_URL", "ENGINE_PORT")
    }
    env |= {"MOCKX_DATA_DIR": str(directory), "API_KEY": "k", "API_SECRET": "s"}
    up = Up(env, directory, free_port(), tmp_path / "up.log")
    try:
        banner = up.wait_ready()
        shows(banner, "k  (from $API_KEY)", "s  (from $API_SECRET)")
        assert not (directory / "api-key").exists(), "nothing is stored for a key the environment gives"
        assert not (directory / "api-secret").exists()
        assert httpx.get(f"{up.url}/balance", headers={"x-api-key": "k"}).status_code == 200
        (directory / "api-key").write_text("a-stale-key\n")  # a key an earlier `mockx up` left behind
        Cli(env).ok("fund", "USDT", "5")  # sends $API_KEY, not the stale stored key
    finally:
        assert up.interrupt() == 0, up.log.read_text()
