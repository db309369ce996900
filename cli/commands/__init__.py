"""Every ``mockx`` subcommand, one module per area; each module lists its commands in ``COMMANDS``."""

from __future__ import annotations

import rich_click as click

from cli.commands import (
    accounts,
    admin,
    balances,
    export,
    feed,
    info,
    market,
    orders,
    overview,
    serve,
    up,
    watch,
    worker,
)

ALL: list[click.Command] = [
    *up.COMMANDS,
    *serve.COMMANDS,
    *worker.COMMANDS,
    *feed.COMMANDS,
    *balances.COMMANDS,
    *market.COMMANDS,
    *orders.COMMANDS,
    *export.COMMANDS,
    *overview.COMMANDS,
    *admin.COMMANDS,
    *accounts.COMMANDS,
    *info.COMMANDS,
    *watch.COMMANDS,
]
