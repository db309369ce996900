"""Every ``mockx`` subcommand, one module per area."""

from __future__ import annotations

import rich_click as click

ALL: list[click.Command] = []
