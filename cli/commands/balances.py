"""`mockx` commands on the account's balances: balance, fund, deposit, withdraw.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

import rich_click as click

from cli.client import NUMBER, Api, api_options, json_option, url_path
from cli.render import balance_table, show_balance


@click.command("balance")
@click.argument("asset", required=False)
@json_option
@api_options
def balance(api: Api, asset: str | None, as_json: bool) -> None:
    """Show the balances: every asset's free, used (reserved by open orders) and total; or one ASSET."""
    from cli.output import echo_json, note, show

    reply = api.get(url_path("balance", asset)) if asset else api.get("/balance")
    if as_json:
        echo_json(reply.text)
        return
    if asset:
        show_balance(reply.data)
        return
    data = reply.data
    rows = [(a, data["free"].get(a), data["used"].get(a), data["total"].get(a)) for a in sorted(data["total"])]
    if not rows:
        note("No balances yet: fund the account with `mockx fund USDT 100000`.")
        return
    show(balance_table(rows))


@click.command("fund")
@click.argument("asset")
@click.argument("amount", type=NUMBER)
@json_option
@api_options
def fund(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Credit AMOUNT of ASSET to the free balance (admin; counts as a deposit)."""
    _move_balance(api, "/admin/fund", {"asset": asset, "amount": amount}, as_json)


def _move_balance(api: Api, path: str, body: dict[str, str], as_json: bool) -> None:
    """POST a balance change and show the balance row the API answers with."""
    from cli.output import echo_json

    reply = api.post(path, body)
    if as_json:
        echo_json(reply.text)
    else:
        show_balance(reply.data)


@click.command("deposit")
@click.argument("asset")
@click.argument("amount", type=NUMBER)
@json_option
@api_options
def deposit(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Deposit AMOUNT of ASSET into the free balance."""
    _move_balance(api, url_path("balance", asset, "deposit"), {"amount": amount}, as_json)


@click.command("withdraw")
@click.argument("asset")
@click.argument("amount", type=NUMBER)
@json_option
@api_options
def withdraw(api: Api, asset: str, amount: str, as_json: bool) -> None:
    """Withdraw AMOUNT of ASSET from the free balance (InsufficientFunds if less is free)."""
    _move_balance(api, url_path("balance", asset, "withdrawal"), {"amount": amount}, as_json)


COMMANDS: list[click.Command] = [
    balance,
    fund,
    deposit,
    withdraw,
]
