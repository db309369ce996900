"""`mockx` commands: up."""

from __future__ import annotations

import rich_click as click

COMMANDS: list[click.Command] = []
