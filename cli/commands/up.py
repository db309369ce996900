"""`mockx up`: the whole exchange on one machine, in one supervised process tree.

The supervisor (this process) starts the embedded Valkey (unless ``REDIS_URL`` is set), then ``mockx
serve`` and N ``mockx worker`` processes (and ``mockx feed`` with ``--feed``), each in its own process
group and each told by the kernel to stop if the supervisor dies. A child that crashes is restarted with
backoff. SIGINT (Ctrl-C), SIGTERM or SIGHUP stop everything: the API and the feed and the workers get
SIGTERM and a grace period (then SIGKILL for their whole process group), Valkey stops last so it writes
its AOF after the last change. Nothing is left running.

The data directory keeps the state (Valkey's AOF), the API key and the default account's secret (``api-key``
and ``api-secret``, created on the first run, mode 0600) and ``up.json`` (URL, port, pids), which the other
``mockx`` commands read to find the API. An ``API_KEY`` or ``API_SECRET`` set in the environment is used
instead, as given (whatever its length), and nothing is stored for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rich_click as click

from cli.credentials import Credentials

if TYPE_CHECKING:
    import httpx

    from app.store.embedded import EmbeddedValkey
    from cli.children import Child

FEED_SYMBOLS = {"BTC/USDT": "60000", "ETH/USDT": "3000", "SOL/USDT": "150"}
READY_SECONDS = 60.0
API_STOP_SECONDS = 2.0  # the API server waits for open event streams; it holds no state, so it may be killed
STOP_SECONDS = 15.0
MAX_RESTARTS = 5  # crashes of one child within RESTART_WINDOW before the supervisor gives up
RESTART_WINDOW = 60.0


@click.command("up")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, envvar="ENGINE_PORT", show_envvar=True, help="API port."
)
@click.option("--host", default="127.0.0.1", envvar="ENGINE_HOST", show_envvar=True, help="Address the API binds.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MOCKX_DATA_DIR",
    show_envvar=True,
    help="State (Valkey's AOF), the API key and up.json.  [default: the user data directory]",
)
@click.option("--workers", type=click.IntRange(0, 64), default=1, show_default=True, help="Settlement workers to run.")
@click.option(
    "--feed",
    type=click.Choice(["synthetic"]),
    help=f"Also publish moving prices: synthetic ticks for {', '.join(FEED_SYMBOLS)}.  [default: no feed]",
)
@click.option(
    "--test-env", is_flag=True, envvar="TEST_ENV", show_envvar=True, help="No authentication; API docs at /docs."
)
def up(port: int, host: str, data_dir: Path | None, workers: int, feed: str | None, test_env: bool) -> None:
    """Run the whole exchange: embedded Valkey, the API and settlement workers, until Ctrl-C.

    Prints the URL, the docs link and the API key. The key is generated on the first run and kept in the
    data directory (owner-only), where the other mockx commands find it, with the URL, without flags.
    Running it again resumes the same state.
    """
    from cli.client import fail

    directory = _data_dir(data_dir)
    running = _already_running(directory)
    if running:
        fail(f"mockx up is already running for {directory} (pid {running['pid']}, {running.get('url')})")
    if not _port_free(host, port):
        fail(f"port {port} on {host} is in use: stop what listens there, or choose another with --port")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # only now: a refused start leaves no folder
    Supervisor(directory, host, port, workers, feed, test_env, Credentials.of(directory)).run()


def _data_dir(option: Path | None) -> Path:
    if option is not None:
        directory = option.expanduser()
    else:
        from cli.client import data_dir

        directory = data_dir()
    return directory.resolve()


def _already_running(directory: Path) -> dict[str, Any] | None:
    """The record of a ``mockx up`` still alive on this data directory, if any."""
    from cli.client import read_up_record

    record = read_up_record(directory)
    pid = record.get("pid") if record else None
    if not isinstance(pid, int) or pid == os.getpid():
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return None
        return record
    return record if b"mockx" in cmdline or b"cli.main" in cmdline else None


def _port_free(host: str, port: int) -> bool:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def mockx_command() -> list[str]:
    """How to run ``mockx`` again: the script beside this interpreter, else the interpreter itself."""
    script = Path(sys.executable).with_name("mockx")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-c", "import sys; from cli.main import main; sys.argv[0] = 'mockx'; main()"]


class Supervisor:
    def __init__(
        self,
        directory: Path,
        host: str,
        port: int,
        workers: int,
        feed: str | None,
        test_env: bool,
        credentials: Credentials,
    ) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self.test_env = test_env
        self.credentials = credentials
        self.key = credentials.key
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
        self.url = f"http://{f'[{connect_host}]' if ':' in connect_host else connect_host}:{port}"
        self.stopping: str | None = None
        self.valkey: EmbeddedValkey | None = None
        self.valkey_pid: int | None = None
        import threading

        from cli.children import Child

        self.hush = threading.Event()  # set when the stop begins: the children's own stop logs are held back
        mockx = mockx_command()
        serve = [*mockx, "serve", "--host", host, "--port", str(port)]
        self.children = [Child("api", serve, API_STOP_SECONDS, self.hush)]
        self.children += [
            Child(f"worker-{i}", [*mockx, "worker", "--name", f"up-{i}"], STOP_SECONDS, self.hush)
            for i in range(1, workers + 1)
        ]
        self.feed_child: Child | None = None
        self.feed_prices = dict(FEED_SYMBOLS)  # replaced by the exchange's last prices before the feed starts
        if feed == "synthetic":
            self.feed_child = Child("feed", [], STOP_SECONDS, self.hush)
        self.workers = workers
        self.feed = feed

    # lifecycle ---------------------------------------------------------------------------------------------
    def run(self) -> None:
        import signal

        from cli.output import note

        def on_signal(signum: int, frame: Any) -> None:
            if self.stopping is None:
                self.stopping = signal.Signals(signum).name

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
        code = 0
        try:
            env = self._environment()
            for child in self.children:
                child.start(env)
            self._record()
            if self._wait_until_ready():
                if self.feed_child is not None:
                    self._start_feed(env)
                self._banner()
                code = self._supervise(env)
        finally:
            self._stop_all()
            self._record(stopped=True)
        why = f" ({self.stopping})" if self.stopping else ""
        note(f"MockX stopped{why}; the state stays in {self.directory}")
        if code:
            raise SystemExit(code)

    def _start_feed(self, env: dict[str, str]) -> None:
        """(Re)start the synthetic feed from the exchange's last prices, so a resumed state does not jump."""
        assert self.feed_child is not None
        self.feed_prices.update(self._last_prices())
        prices = [arg for item in self.feed_prices.items() for arg in ("--start-price", "=".join(item))]
        self.feed_child.args = [
            *mockx_command(),
            "feed",
            "--source",
            "synthetic",
            "-s",
            ",".join(FEED_SYMBOLS),
            *prices,
        ]
        self.feed_child.start(env)
        if self.feed_child not in self.children:
            self.children.append(self.feed_child)
            self._record()

    def _last_prices(self) -> dict[str, str]:
        """The last price of each feed symbol that has a ticker (``GET /tickers``); {} if the API does not say."""
        import httpx

        from cli.client import decode

        try:
            with self._client() as client:
                tickers = decode(client.get("/tickers").raise_for_status().text)
        except (httpx.HTTPError, ValueError):
            return {}
        if not isinstance(tickers, dict):
            return {}
        lasts = {symbol: (tickers.get(symbol) or {}).get("last") for symbol in FEED_SYMBOLS}
        return {symbol: format(last, "f") if hasattr(last, "is_finite") else str(last)
                for symbol, last in lasts.items() if last}  # fmt: skip

    def _client(self) -> httpx.Client:
        import httpx

        return httpx.Client(base_url=self.url, headers={"x-api-key": self.key}, timeout=2.0)

    def _environment(self) -> dict[str, str]:
        """The children's environment: this one, with the data directory, key, secret, auth mode and Valkey URL."""
        from app.settings import Settings, SettingsError
        from cli.client import fail

        env = dict(os.environ)
        env.update(
            MOCKX_DATA_DIR=str(self.directory),
            API_KEY=self.key,
            API_SECRET=self.credentials.secret,
            TEST_ENV="true" if self.test_env else "false",
            PYTHONUNBUFFERED="1",
        )
        try:
            settings = Settings.from_env(env)
        except SettingsError as exc:
            fail(str(exc))
        if settings.redis_url is None:
            self.valkey = _start_valkey(self.directory, settings.maxmemory)
            env["REDIS_URL"] = self.valkey.url
            if self.valkey.owner:
                self.valkey_pid = _server_pid(self.valkey.url)
        return env

    def _wait_until_ready(self) -> bool:
        """Poll the API (and the workers' heartbeats) until ready; False if stopped or a child failed."""
        import time

        import httpx

        from cli.client import fail

        deadline = time.monotonic() + READY_SECONDS
        with self._client() as client:
            while self.stopping is None:
                for child in self.children:
                    code = child.exited()
                    if code is not None:
                        self.stopping = f"{child.name} failed"
                        fail(f"{child.name} exited with code {code} while starting (its log is above)")
                try:
                    if client.get("/livez").status_code == 200:
                        health = client.get("/admin/health").json()
                        if int(health.get("workersAlive") or 0) >= self.workers:
                            return True
                except (httpx.HTTPError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    self.stopping = "not ready"
                    fail(f"the exchange was not ready within {READY_SECONDS:.0f} s at {self.url}")
                time.sleep(0.1)
        return False

    def _supervise(self, env: dict[str, str]) -> int:
        """Restart crashed children with backoff until a signal arrives; 1 if a child keeps crashing."""
        import time

        from cli.output import note

        while self.stopping is None:
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        note(f"mockx up: restarting {child.name}")
                        if child is self.feed_child:
                            self._start_feed(env)  # from the prices it had reached, not its first ones
                        else:
                            child.start(env)
                        self._record()
                    continue
                code = child.exited()
                if code is None:
                    continue
                child.crashes = [t for t in child.crashes if now - t < RESTART_WINDOW] + [now]
                if len(child.crashes) > MAX_RESTARTS:
                    note(f"mockx up: {child.name} crashed {len(child.crashes)} times in {RESTART_WINDOW:.0f} s")
                    self.stopping = f"{child.name} keeps crashing"
                    return 1
                delay = min(2 ** (len(child.crashes) - 1), 30)
                note(f"mockx up: {child.name} exited with code {code}; restarting in {delay} s")
                child.restart_at = now + delay
            time.sleep(0.1)
        return 0

    def _stop_all(self) -> None:
        """SIGTERM to every child, SIGKILL to the process groups that outlive their grace, then Valkey."""
        import time

        from cli.output import note

        self.hush.set()
        started = time.monotonic()
        for child in self.children:
            child.terminate()
        names = ", ".join(child.name for child in self.children if child.exited() is None)
        if names:
            note(f"mockx up: {self.stopping or 'stopping'}: stopping {names}{', valkey' if self.valkey else ''}")
        pending = list(self.children)
        while pending:
            now = time.monotonic()
            for child in list(pending):
                if child.exited() is not None or child.process is None:
                    if child.group_alive():  # its own children (a server's workers) outlived it
                        if now - started < child.stop_seconds:
                            continue
                        child.kill_group()
                    pending.remove(child)
                elif now - started >= child.stop_seconds:
                    child.kill_group()
                    pending.remove(child)
            if pending:
                time.sleep(0.05)
        for child in self.children:
            note(f"  {child.stop_line()}")
            child.close()
        if self.valkey is not None:
            owner = self.valkey.owner
            self.valkey.stop()
            if owner:
                note(f"  valkey: stopped; its state is saved in {self.directory}")

    # output ------------------------------------------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        pids = {"supervisor": os.getpid()}
        if self.valkey_pid is not None:
            pids["valkey"] = self.valkey_pid
        pids.update({child.name: child.pid for child in self.children if child.pid is not None})
        return pids

    def _record(self, *, stopped: bool = False) -> None:
        """``up.json``: where the API is (kept after a stop, so the commands still know the port) and the pids."""
        import json
        import time

        from cli.client import UP_FILE

        record: dict[str, Any] = {"url": self.url, "host": self.host, "port": self.port, "testEnv": self.test_env}
        if self.credentials.key_from == "API_KEY":  # the commands then send $API_KEY, not the stored key
            record["keyFrom"] = "API_KEY"
        if self.credentials.secret_from == "API_SECRET":  # `mockx info` then shows $API_SECRET
            record["secretFrom"] = "API_SECRET"
        if not stopped:
            record.update(pid=os.getpid(), pids=self.pids(), started=int(time.time() * 1000))
        path = self.directory / UP_FILE
        temp = path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out, indent=2)
            out.write("\n")
        os.replace(temp, path)

    def _banner(self) -> None:
        from cli.client import KEY_FILE, SECRET_FILE
        from cli.output import pairs, show

        given = self.credentials
        if self.test_env:
            docs = f"{self.url}/docs  (and {self.url}/redoc)"
            auth = "off (--test-env): no x-api-key needed"
        else:
            docs = "off; run `mockx up --test-env` for /docs and /redoc (no auth)"
            auth = f"{self.key}  ({_origin(given.key_from, self.directory / KEY_FILE)})"
        secret = f"{given.secret}  ({_origin(given.secret_from, self.directory / SECRET_FILE)})"
        start = ", ".join(f"{symbol} {price}" for symbol, price in self.feed_prices.items())
        feed = f"synthetic prices, from the last ones: {start}" if self.feed else "none (set prices with set-price)"
        pids = ", ".join(f"{name} {pid}" for name, pid in self.pids().items())
        rows = [
            ("API", f"[bold]{self.url}[/]"),
            ("dashboard", f"{self.url}/ui" + ("" if self.test_env else "  (asks for the API key)")),
            ("docs", docs),
            ("API key", auth),
            ("API secret", secret),
            ("workers", f"{self.workers} settlement worker{'' if self.workers == 1 else 's'}"),
            ("feed", feed),
            ("state", f"{self.directory} (resumed by the next `mockx up`)"),
            ("pids", pids),
        ]
        show(pairs(rows, title="MockX is up"))
        click.echo(
            "Try: mockx fund USDT 100000 · mockx set-price BTC/USDT 50000 · mockx order BTC/USDT buy 0.05 · "
            "mockx watch\nCtrl-C stops everything."
        )
        sys.stdout.flush()


def _origin(source: str, file: Path) -> str:
    """Where a key or secret came from, as the banner says it."""
    if source in ("API_KEY", "API_SECRET"):
        return f"from ${source}"
    made = "new, " if source == "new" else ""
    return f"{made}kept in {file}"


def _start_valkey(directory: Path, maxmemory: str) -> EmbeddedValkey:
    """The embedded Valkey of ``directory``, started with SIGINT blocked so a Ctrl-C does not reach it.

    Valkey shares the supervisor's process group, so a Ctrl-C in the terminal would stop it at once,
    before the API and the workers finish; it inherits the blocked signal and is stopped last, by SIGTERM.
    """
    import signal

    from app.store.embedded import EmbeddedValkey
    from cli.client import fail

    valkey = EmbeddedValkey(directory, maxmemory=maxmemory)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        valkey.start()
    except RuntimeError as exc:
        fail(str(exc))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return valkey


def _server_pid(url: str) -> int | None:
    """The process id a Valkey server reports (``INFO server``), or None if it does not answer."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)
    try:
        return int(client.info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError):
        return None
    finally:
        client.close()


COMMANDS: list[click.Command] = [up]
