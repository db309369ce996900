"""Every ``mockx`` subcommand, one module per area; each module lists its commands in ``COMMANDS``."""

from __future__ import annotations

import rich_click as click

from cli.commands import feed, serve, trading, up, watch, worker

ALL: list[click.Command] = [
    *up.COMMANDS,
    *serve.COMMANDS,
    *worker.COMMANDS,
    *feed.COMMANDS,
    *trading.COMMANDS,
    *watch.COMMANDS,
]
