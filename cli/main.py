"""The ``mockx`` command: run the exchange and its pieces, trade, and watch events.

Every command module imports only ``rich_click`` at the top; the service, HTTP and Valkey libraries
are imported inside the commands, so ``mockx --help`` is instant.
"""

from __future__ import annotations

import rich_click as click

from cli import commands
from cli.client import GROUP_OPTIONS

click.rich_click.SHOW_ARGUMENTS = True
click.rich_click.STYLE_ERRORS_SUGGESTION = "dim"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="mockx", prog_name="mockx")
@GROUP_OPTIONS[0]
@GROUP_OPTIONS[1]
@GROUP_OPTIONS[2]
@GROUP_OPTIONS[3]
@click.pass_context
def cli(ctx: click.Context, url: str | None, api_key: str | None, as_json: bool, account: str | None) -> None:
    """MockX: a zero-risk spot-exchange emulator for ccxt trading bots.

    --url, --api-key, --json and --account may come before the command or after it.
    """
    command = cli.get_command(ctx, ctx.invoked_subcommand or "")
    if account is not None and command is not None and "account" not in {p.name for p in command.params}:
        raise click.UsageError(f"`mockx {command.name}` has no --account option", ctx)


for command in commands.ALL:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="mockx")
