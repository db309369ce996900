"""`mockx` commands on the account's balances: balance, fund, deposit, withdraw.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import rich_click as click

from cli.client import NUMBER, Api, NumberCommand, account_api_options, json_option, url_path
from cli.render import answer, balance_table, show_balance


@click.command("balance")
@click.argument("asset", required=False)
@json_option
@account_api_options
def balance(api: Api, asset: str | None, as_json: bool) -> None:
    """Show the balances: every asset's free, used (reserved by open orders) and total; or one ASSET."""
    reply = api.get(url_path("balance", asset)) if asset else api.get("/balance")
    answer(reply, as_json, show_balance if asset else _show_balances)


def _show_balances(data: dict[str, Any]) -> None:
    from cli.output import note, show

    rows = [(a, data["free"].get(a), data["used"].get(a), data["total"].get(a)) for a in sorted(data["total"])]
    if not rows:
        note("No balances yet: fund the account with `mockx fund USDT 100000`.")
        return
    show(balance_table(rows))


def _balance_change(func: Callable[..., Any], *, admin: bool = False) -> Callable[..., Any]:
    """ASSET AMOUNT, ``--json`` and the API options (with ``--account``) of a command that moves a balance."""
    func = json_option(account_api_options(func, admin=admin))
    return click.argument("asset")(click.argument("amount", type=NUMBER)(func))


@click.command("fund", cls=NumberCommand)
@functools.partial(_balance_change, admin=True)
def fund(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Credit AMOUNT of ASSET to the free balance (admin; counts as a deposit)."""
    answer(api.post("/admin/fund", {"asset": asset, "amount": amount}), as_json, show_balance)


@click.command("deposit", cls=NumberCommand)
@_balance_change
def deposit(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Deposit AMOUNT of ASSET into the free balance."""
    answer(api.post(url_path("balance", asset, "deposit"), {"amount": amount}), as_json, show_balance)


@click.command("withdraw", cls=NumberCommand)
@_balance_change
def withdraw(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Withdraw AMOUNT of ASSET from the free balance (InsufficientFunds if less is free)."""
    answer(api.post(url_path("balance", asset, "withdrawal"), {"amount": amount}), as_json, show_balance)


COMMANDS: list[click.Command] = [
    balance,
    fund,
    deposit,
    withdraw,
]
