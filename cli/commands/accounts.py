"""`mockx accounts`: the admin's commands on the exchange's accounts (``/admin/accounts``).

create, list, show, delete, reset, rotate. Tables for people, ``--json`` for scripts (the API's JSON); data
on stdout, diagnostics on stderr. A new account's secret (and a rotated one) is printed once, by the command
that made it: the API never shows it again. The other account-scoped commands (balance, order, overview...)
act on one account with ``--account NAME``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import rich_click as click

from cli.client import NUMBER, Api, admin_api_options, json_option, url_path
from cli.render import answer

NO_ACCOUNTS = "No accounts yet: `mockx accounts create NAME`."
ONCE = "Keep the secret now: it is shown only this once (`mockx accounts rotate {name}` issues a new pair)."


class Balance(click.ParamType[tuple[str, str], Any]):
    """``ASSET=AMOUNT``, like ``USDT=10000``: a starting balance of a new account."""

    name = "ASSET=AMOUNT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        asset, sep, amount = str(value).partition("=")
        if not sep or not asset.strip():
            self.fail(f"{value!r} is not ASSET=AMOUNT (like USDT=10000)", param, ctx)
        return asset.strip().upper(), NUMBER.convert(amount, param, ctx)


class FeeRate(click.ParamType[str, Any]):
    """A fee rate: at least 0 and below 1 (0.001 is 0.1 %), kept as typed."""

    name = "rate"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        try:
            rate = Decimal(text)
        except InvalidOperation:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
            self.fail(f"{value!r}: a fee rate must be at least 0 and below 1 (0.001 is 0.1 %)", param, ctx)
        return text


@click.group("accounts")
def accounts() -> None:
    """Create, list, show, reset, rotate and delete the exchange's accounts (admin).

    Every account has its own API key and secret, balances, orders and trades. The default account (the key
    `mockx up` prints, API_KEY) always exists. An admin acts on any account's data with `--account NAME`:

    \b
    mockx accounts create bot1 --balance USDT=10000
    mockx balance --account bot1
    mockx order BTC/USDT buy 0.01 --account bot1
    """


@accounts.command("create")
@click.argument("name")
@click.option("--balance", "balances", type=Balance(), multiple=True, help="A starting balance; repeat for more.")
@click.option("--commission", type=FeeRate(), help="Its own fee rate.  [default: the exchange's COMMISSION]")
@json_option
@admin_api_options
def create(api: Api, name: str, balances: tuple[tuple[str, str], ...], commission: str | None, as_json: bool) -> None:
    """Create the account NAME and print its API key and secret (the secret only this once)."""
    body: dict[str, Any] = {"name": name}
    if balances:
        body["balances"] = dict(balances)
    if commission is not None:
        body["commission"] = commission
    answer(api.post("/admin/accounts", body), as_json, lambda data: _show_account(data, title="Account created"))
    _warn_once(name)


@accounts.command("list")
@json_option
@admin_api_options
def list_accounts(api: Api, as_json: bool) -> None:
    """List the accounts: name, API key, creation time, fee rate."""
    answer(api.get("/admin/accounts"), as_json, _show_list, empty=NO_ACCOUNTS)


@accounts.command("show")
@click.argument("name")
@json_option
@admin_api_options
def show_account(api: Api, name: str, as_json: bool) -> None:
    """Show the account NAME (its key; the secret is never shown again)."""
    answer(api.get(url_path("admin", "accounts", name)), as_json, _show_account)


@accounts.command("delete")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@admin_api_options
def delete(api: Api, name: str, yes: bool, as_json: bool) -> None:
    """Delete the account NAME: its key stops working at once, its balances, orders and trades are removed."""
    from cli.commands.admin import confirm

    if not yes:
        confirm(f"Delete the account {name!r} and all its data at {api.url}?", "nothing was deleted")
    reply = api.request("DELETE", url_path("admin", "accounts", name))
    answer(reply, as_json, lambda data: _done(f"Deleted account {name}", data))


@accounts.command("reset")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@admin_api_options
def reset(api: Api, name: str, yes: bool, as_json: bool) -> None:
    """Wipe the balances, orders and trades of the account NAME; its key and secret stay."""
    from cli.commands.admin import confirm

    if not yes:
        confirm(f"Wipe the balances, orders and trades of the account {name!r} at {api.url}?", "nothing was wiped")
    reply = api.post(url_path("admin", "accounts", name, "reset"))
    answer(reply, as_json, lambda data: _done(f"Reset account {name}", data))


@accounts.command("rotate")
@click.argument("name")
@json_option
@admin_api_options
def rotate(api: Api, name: str, as_json: bool) -> None:
    """Give the account NAME a new API key and secret; the old key stops working at once."""
    reply = api.post(url_path("admin", "accounts", name, "keys"))
    answer(reply, as_json, lambda data: _show_account(data, title="New key and secret"))
    _warn_once(name)


# output ----------------------------------------------------------------------------------------------------
def _warn_once(name: str) -> None:
    from cli.output import console

    console(err=True).print(ONCE.format(name=name), style="bold yellow", markup=False)


def _done(line: str, data: Any) -> None:
    message = data.get("message") if isinstance(data, dict) else None
    click.echo(f"{line}: {message}" if message else line)


def _created(value: Any) -> str:
    from cli.output import when

    if isinstance(value, int) and not isinstance(value, bool):
        return when(value)
    return "" if value is None else str(value)


FIELDS = (
    ("name", "name"),
    ("apiKey", "API key"),
    ("secret", "secret"),
    ("createdAt", "created"),
    ("commission", "commission"),
    ("shard", "shard"),
    ("ed25519PublicKey", "Ed25519 key"),
)


def _show_account(data: dict[str, Any], title: str | None = None) -> None:
    """One account as ``name: value`` lines (the secret too, when the API sent it), then its balances."""
    from cli.output import num, pairs, show, styled

    known = dict(FIELDS)
    rows = []
    for field, label in FIELDS:
        value = data.get(field)
        if value is not None and value != "":
            rows.append((label, _created(value) if field == "createdAt" else num(value)))
    for field, value in data.items():  # what else the API tells about the account
        if field not in known and field != "balances" and not isinstance(value, dict | list):
            rows.append((field, num(value)))
    show(pairs([(label, styled(value, None)) for label, value in rows], title=title or f"Account {data['name']}"))
    _show_balances(data.get("balances"))


def _show_balances(balances: Any) -> None:
    """An account's balances: ``{"USDT": "10000"}`` or a ccxt ``{"free", "used", "total"}`` balance."""
    from cli.render import balance_table

    if not isinstance(balances, dict) or not balances:
        return
    from cli.output import show

    if isinstance(balances.get("total"), dict):
        free, used, total = balances.get("free") or {}, balances.get("used") or {}, balances["total"]
        rows = [(a, free.get(a), used.get(a), total[a]) for a in sorted(total)]
    else:
        rows = []
        for asset, value in sorted(balances.items()):
            row = value if isinstance(value, dict) else {"free": value, "used": None, "total": value}
            rows.append((asset, row.get("free"), row.get("used"), row.get("total")))
    if rows:
        show(balance_table(rows))


def _show_list(data: Any) -> None:
    from cli.output import note, num, show, table

    rows = data.get("accounts", []) if isinstance(data, dict) else data
    if not rows:
        note(NO_ACCOUNTS)
        return
    grid = table("Name", "API key", "Created", "Commission")
    for account in rows:
        grid.add_row(
            str(account.get("name")),
            str(account.get("apiKey") or ""),
            _created(account.get("createdAt")),
            num(account.get("commission")) or "exchange's",
        )
    show(grid)


COMMANDS: list[click.Command] = [
    accounts,
]
