"""`mockx` admin commands: set-price, reset-data, health.

Tables for people, ``--json`` for scripts (the API's JSON, exact numbers); data on stdout, diagnostics
on stderr. A refused request prints the API's error code and message and exits 1; an API that cannot be
reached exits 3.
"""

from __future__ import annotations

import functools
from typing import Any

import rich_click as click

from cli.client import NUMBER, Api, NumberCommand, account_api_options, admin_api_options, fail, json_option, url_path
from cli.render import answer


@click.command("set-price", cls=NumberCommand)
@click.argument("symbol")
@click.argument("price", type=NUMBER)
@click.option("--bid", type=NUMBER, help="Best bid.  [default: PRICE]")
@click.option("--ask", type=NUMBER, help="Best ask.  [default: PRICE]")
@json_option
@admin_api_options
def set_price(api: Api, symbol: str, price: str, bid: str | None, ask: str | None, as_json: bool) -> None:
    """Publish a price tick for SYMBOL and wait until the orders it crosses are filled (admin)."""
    body: dict[str, Any] = {"price": price}
    if bid is not None:
        body["bid"] = bid
    if ask is not None:
        body["ask"] = ask
    answer(api.request("PATCH", url_path("admin", "tickers", symbol, "price"), body=body), as_json, _show_tick)


def _show_tick(data: dict[str, Any]) -> None:
    from cli.output import num

    t = data["ticker"]
    line = f"{data['symbol']} {num(t['last'])} (bid {num(t.get('bid'))}, ask {num(t.get('ask'))})"
    filled = int(data.get("filled") or 0)
    if filled:  # a worker may apply the same tick first; then its fills are counted there, not here
        line += f": {filled} order{'' if filled == 1 else 's'} filled"
    click.echo(line)


@click.command("reset-data")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Every account's data and the events: the whole exchange.  [default: one account]",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@functools.partial(account_api_options, admin=True)
def reset_data(api: Api, everything: bool, yes: bool, as_json: bool) -> None:
    """Wipe one account's balances, orders and trades (the key's own, or --account's); with --all, every account's
    and the events (markets and prices stay): a clean slate (admin)."""
    if everything and api.account:
        raise click.UsageError("--all wipes every account; leave out --account")
    if everything:
        what = f"every balance, order, trade and event of the exchange at {api.url}"
    else:
        whose = f"account {api.account!r}" if api.account else "the key's account"
        what = f"the balances, orders and trades of {whose} at {api.url}"
    if not yes:
        confirm(f"Wipe {what}?", "nothing was wiped")
    reply = api.request("DELETE", "/admin/data", params={"all": "true" if everything else None})
    answer(reply, as_json, lambda data: click.echo(f"Reset: {data.get('message') or 'done'}"))


def confirm(question: str, refused: str) -> None:
    """Ask ``question`` on stderr; anything but yes (or no answer at all) ends the command with ``refused``."""
    try:
        confirmed = click.confirm(question, default=False, err=True)
    except click.Abort:  # no answer (end of input)
        click.echo(err=True)
        confirmed = False
    if not confirmed:
        fail(f"{refused} (pass --yes to skip the question)")


@click.command("health")
@click.option(
    "--min-workers", type=click.IntRange(0), default=0, show_default=True, help="Degraded below this many workers."
)
@json_option
@admin_api_options
def health(api: Api, min_workers: int, as_json: bool) -> None:
    """Check the exchange: Valkey reachable, settlement workers alive, price backlog, versions.

    Exits 0 when healthy, 1 when degraded or Valkey is unreachable.
    """
    from cli.client import decode, refused

    reply = api.request("GET", "/admin/health", params={"minWorkers": min_workers or None}, accept=(503,))
    data = decode(reply.text)
    if "status" not in data:
        refused(reply.status, reply.text, f"GET {api.url}/admin/health")
    if as_json:
        from cli.output import echo_json

        echo_json(reply.text)
    else:
        _show_health(api.url, data)
    if data.get("status") != "ok":
        raise SystemExit(1)


def _show_health(url: str, data: dict[str, Any]) -> None:
    from cli.output import num, pairs, show, status, table

    valkey = data.get("valkey") or {}
    if valkey.get("reachable"):
        name = "valkey" if "valkey" in (data.get("versions") or {}) else "redis"
        store = f"reachable ({name} {valkey.get('version') or '?'}, {num(valkey.get('latencyMs'))} ms)"
    else:
        store = f"[red]unreachable[/] ({valkey.get('error') or 'no answer'})"
    prices = data.get("prices") or {}
    rows = [
        ("status", status(data.get("status"))),
        ("api", url),
        ("valkey", store),
        ("workers alive", str(data.get("workersAlive", 0))),
    ]
    if prices:
        waiting = f"lag {prices.get('lag') or 0}, pending {prices.get('pending') or 0}"
        rows.append(("price stream", f"{prices.get('stream')}: {prices.get('length')} entries, {waiting}"))
    versions = data.get("versions") or {}
    rows.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    for problem in data.get("problems") or []:
        rows.append(("problem", f"[yellow]{problem}[/]"))
    show(pairs(rows, title="Health"))
    workers = data.get("workers") or []
    if workers:
        numeric = ("Ticks", "Fills", "Errors", "PID")
        grid = table("Worker", "Healthy", *numeric, numeric=numeric)
        for w in workers:
            beat = w.get("heartbeat") or {}
            healthy = beat.get("healthy")
            grid.add_row(
                w["name"],
                "" if healthy is None else status("ok" if healthy else "unavailable"),
                num(beat.get("processed")),
                num(beat.get("filled")),
                num(beat.get("errors")),
                num(beat.get("pid")),
            )
        show(grid)


COMMANDS: list[click.Command] = [
    set_price,
    reset_data,
    health,
]
