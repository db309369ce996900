"""What the price commands (``mockx worker``, ``mockx feed``) share: settings, logging, the event loop.

Only ``rich_click`` is imported at the top; everything else is imported when a command runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import rich_click as click

if TYPE_CHECKING:
    from app.settings import Settings

T = TypeVar("T")


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr, then exit (2: bad configuration or input)."""
    click.echo(f"mockx: {message}", err=True)
    raise SystemExit(code)


def load_settings(overrides: Mapping[str, str | None]) -> Settings:
    """Settings from the environment, with command-line options (keyed by their variable) on top."""
    from app.settings import Settings, SettingsError

    env = dict(os.environ)
    env.update({name: value for name, value in overrides.items() if value is not None})
    try:
        return Settings.from_env(env)
    except SettingsError as exc:
        fail(str(exc))


def setup_logging(verbose: bool) -> None:
    """Logs go to stderr through Rich; stdout stays for data."""
    import logging

    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, log_time_format="[%X]")
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", handlers=[handler])
    for noisy in ("asyncio", "redis"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on uvloop where available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        import asyncio

        return asyncio.run(main())
    return uvloop.run(main())


def valkey_url(settings: Settings) -> str | None:
    """``REDIS_URL``, or the embedded Valkey already serving the data directory; None if neither."""
    if settings.redis_url:
        return settings.redis_url
    from app.store.embedded import EmbeddedValkey

    try:
        url = EmbeddedValkey(settings.data_dir).url_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return url or None


def redis_url_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--redis-url",
        envvar="REDIS_URL",
        show_envvar=True,
        metavar="URL",
        help="Valkey/Redis URL. Without one, the embedded Valkey of the data directory is used.",
    )(func)


def stream_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--stream`` and ``--group``, shared by the worker and the feed."""
    func = click.option(
        "--group",
        envvar="CONSUMER_GROUP",
        show_envvar=True,
        metavar="NAME",
        help="Consumer group of the settlement workers.  [default: settlement]",
    )(func)
    return click.option(
        "--stream",
        envvar="PRICE_STREAM",
        show_envvar=True,
        metavar="KEY",
        help="The price stream.  [default: mockx:prices]",
    )(func)
