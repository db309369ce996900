"""``mockx accounts`` and ``--account NAME``, run as the real ``mockx`` against a real API, worker and Valkey."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.cli import Cli, shows
from tests.support.cli_output import json_of, one_line
from tests.support.processes import Server

ONCE = "shown only this once"


def test_create_list_show_and_the_secret_shown_once(cli: Cli) -> None:
    made = cli("accounts", "create", "bot1", "--balance", "USDT=10000", "--balance", "btc=0.5", "--json")
    assert made.code == 0, str(made)
    bot1 = json_of(made.out)
    assert bot1["name"] == "bot1"
    assert (len(bot1["apiKey"]), len(bot1["secret"])) == (64, 64)
    assert {a: b["total"] for a, b in bot1["balances"].items()} == {"USDT": 10000, "BTC": Decimal("0.5")}
    assert ONCE in made.err, "the warning on stderr"
    assert bot1["secret"] not in made.err, "the secret on stdout only"

    table = cli("accounts", "create", "bot2", "--commission", "0.001")
    assert table.code == 0, str(table)
    bot2 = json_of(cli.ok("accounts", "show", "bot2", "--json"))
    shows(table.out, "bot2", bot2["apiKey"], "secret")
    assert ONCE in table.err
    assert "secret" not in bot2, "a read never shows the secret"
    assert bot2["commission"] == Decimal("0.001")

    listed = json_of(cli.ok("accounts", "list", "--json"))
    assert [a["name"] for a in listed] == ["default", "bot1", "bot2"]
    assert all("secret" not in a for a in listed)
    shows(cli.ok("accounts", "list"), "Name", "API key", "bot1", "bot2", bot1["apiKey"], "0.001")
    shown = cli.ok("accounts", "show", "bot1")
    shows(shown, "bot1", bot1["apiKey"])
    assert bot1["secret"] not in shown

    exists = one_line(cli.fails(1, "accounts", "create", "bot1"))
    assert exists.startswith("mockx: "), exists
    assert "bot1" in exists, exists
    assert "bot9" in one_line(cli.fails(1, "accounts", "show", "bot9"))


def test_creating_checks_its_options_before_asking_the_api(cli: Cli) -> None:
    assert "ASSET=AMOUNT" in cli.fails(2, "accounts", "create", "x", "--balance", "USDT")
    assert "is not a number" in cli.fails(2, "accounts", "create", "x", "--balance", "USDT=lots")
    assert "below 1" in cli.fails(2, "accounts", "create", "x", "--commission", "1.5")
    assert [a["name"] for a in json_of(cli.ok("accounts", "list", "--json"))] == ["default"]


def test_account_option_scopes_every_account_command(cli: Cli) -> None:
    cli.ok("accounts", "create", "bot1", "--balance", "USDT=10000")
    cli.ok("set-price", "BTC/USDT", "50000")
    bot = ("--account", "bot1")

    assert json_of(cli.ok("balance", *bot, "--json"))["total"] == {"USDT": 10000}
    assert json_of(cli.ok("balance", "--json"))["total"] == {}, "the default account has nothing"
    cli.ok("fund", "BTC", "1", *bot)
    cli.ok("deposit", "ETH", "2", *bot)
    cli.ok("withdraw", "ETH", "1", *bot)
    assert json_of(cli.ok("balance", "ETH", *bot, "--json"))["total"] == 1
    assert cli.exits(0, "can-execute", "BTC/USDT", "buy", "0.01", *bot).out.startswith("ok")
    assert cli.exits(1, "can-execute", "BTC/USDT", "buy", "0.01").code == 1, "the default account cannot pay"

    bought = json_of(cli.ok("order", "BTC/USDT", "buy", "0.01", *bot, "--json"))
    assert bought["status"] == "closed"
    resting = json_of(cli.ok("order", "BTC/USDT", "sell", "0.5", "--price", "60000", *bot, "--json"))
    assert [o["id"] for o in json_of(cli.ok("orders", *bot, "--json"))] == [bought["id"], resting["id"]]
    assert json_of(cli.ok("orders", "--json")) == []
    assert json_of(cli.ok("order-info", resting["id"], *bot, "--json"))["status"] == "open"
    assert cli.exits(1, "order-info", resting["id"]).code == 1, "another account's order is not found"
    assert json_of(cli.ok("cancel", resting["id"], *bot, "--json"))["status"] == "canceled"
    assert len(json_of(cli.ok("trades", *bot, "--json"))) == 1
    assert json_of(cli.ok("trades", "--json")) == []
    assert json_of(cli.ok("overview", "trades", *bot, "--json"))["trades"] == 1
    assert json_of(cli.ok("overview", "trades", "--json"))["trades"] == 0
    watched = cli.ok("watch", "--since", "all", "--types", "order", "-n", "1", "--json", *bot)
    assert json_of(watched)["type"] == "order.created"

    assert "nobody" in one_line(cli.fails(1, "balance", "--account", "nobody"))


def test_reset_rotate_delete_and_reset_data_all(cli: Cli) -> None:
    cli.ok("accounts", "create", "bot1", "--balance", "USDT=100")
    cli.ok("accounts", "create", "bot2", "--balance", "USDT=200")
    cli.ok("fund", "USDT", "300")
    old = json_of(cli.ok("accounts", "show", "bot1", "--json"))["apiKey"]

    rotated = cli("accounts", "rotate", "bot1", "--json")
    assert rotated.code == 0, str(rotated)
    fresh = json_of(rotated.out)
    assert fresh["apiKey"] != old
    assert len(fresh["secret"]) == 64
    assert ONCE in rotated.err
    assert json_of(cli.ok("accounts", "show", "bot1", "--json"))["apiKey"] == fresh["apiKey"]
    shows(cli.ok("accounts", "rotate", "bot1"), "secret")
    assert cli.exits(1, "accounts", "rotate", "default").code == 1

    for answer in ("n\n", "", None):
        assert "nothing was wiped" in cli.fails(1, "accounts", "reset", "bot1", input=answer)
    assert json_of(cli.ok("balance", "--account", "bot1", "--json"))["total"] == {"USDT": 100}
    assert "Reset account bot1" in cli.ok("accounts", "reset", "bot1", input="y\n")
    assert json_of(cli.ok("balance", "--account", "bot1", "--json"))["total"] == {}
    assert json_of(cli.ok("accounts", "reset", "bot1", "--yes", "--json"))["ok"] is True

    assert "nothing was deleted" in cli.fails(1, "accounts", "delete", "bot1", input="n\n")
    assert "Deleted account bot1" in cli.ok("accounts", "delete", "bot1", "--yes")
    assert [a["name"] for a in json_of(cli.ok("accounts", "list", "--json"))] == ["default", "bot2"]
    assert cli.exits(1, "balance", "--account", "bot1").code == 1

    cli.ok("reset-data", "--account", "bot2", "--yes")
    assert json_of(cli.ok("balance", "--account", "bot2", "--json"))["total"] == {}
    assert json_of(cli.ok("balance", "--json"))["total"] == {"USDT": 300}, "only bot2 was wiped"
    cli.ok("fund", "USDT", "5", "--account", "bot2")
    assert json_of(cli.ok("--account", "bot2", "--json", "balance"))["total"] == {"USDT": 5}, "before the command"
    assert "no --account option" in cli.fails(2, "--account", "bot2", "info")
    assert "leave out --account" in cli.fails(2, "reset-data", "--all", "--account", "bot2", "--yes")
    assert "nothing was wiped" in cli.fails(1, "reset-data", "--all", input="n\n")
    assert json_of(cli.ok("reset-data", "--all", "--yes", "--json"))["ok"] is True
    assert json_of(cli.ok("balance", "--json"))["total"] == {}
    assert json_of(cli.ok("balance", "--account", "bot2", "--json"))["total"] == {}


ADMIN = "admin-key-of-the-cli-tests"
DEFAULT_KEY = "k"  # the default account's key: any length is accepted as given


@pytest.fixture
def secured(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """A ``mockx serve`` with authentication on and a separate admin key; the clients' environment."""
    env = {**subprocess_env, "TEST_ENV": "false", "API_KEY": DEFAULT_KEY, "API_SECRET": "s", "ADMIN_API_KEY": ADMIN}
    server = Server(env, tmp_path / "secured.log").start()
    client = {k: v for k, v in subprocess_env.items() if k not in ("API_KEY", "MOCKX_API_KEY", "ADMIN_API_KEY")}
    client["MOCKX_URL"] = server.url
    yield client
    server.kill()


def test_account_keys_admin_keys_and_a_rotated_key(secured: dict[str, str]) -> None:
    admin = Cli({**secured, "ADMIN_API_KEY": ADMIN})
    made = json_of(admin.ok("accounts", "create", "bot1", "--balance", "USDT=50", "--json"))
    own = Cli({**secured, "MOCKX_API_KEY": made["apiKey"]})
    assert json_of(own.ok("balance", "--json"))["total"] == {"USDT": 50}, "its key acts on its own account"
    refused = one_line(own.fails(1, "accounts", "list"))
    assert refused.startswith("mockx: PermissionDenied") or "admin key" in refused, refused

    default = Cli({**secured, "API_KEY": DEFAULT_KEY})
    assert json_of(default.ok("balance", "--json"))["total"] == {}
    assert default.exits(1, "accounts", "list").code == 1, "with ADMIN_API_KEY set, API_KEY is no admin"
    both = Cli({**secured, "API_KEY": DEFAULT_KEY, "ADMIN_API_KEY": ADMIN})
    assert json_of(both.ok("balance", "--account", "bot1", "--json"))["total"] == {"USDT": 50}
    assert json_of(both.ok("balance", "--json"))["total"] == {}, "without --account: API_KEY, the default account"

    admin.ok("accounts", "rotate", "bot1")
    stale = one_line(own.fails(1, "balance"))
    assert stale.startswith("mockx: AuthenticationError"), stale
