"""`mockx` commands: serve (the REST API)."""

from __future__ import annotations

import logging

import rich_click as click

WS_PING_SECONDS, WS_PONG_TIMEOUT_SECONDS = 20.0, 60.0
SERVERS = ("uvicorn", "granian")
APP_FACTORY = "app.api:create_app"
# Open event streams never finish by themselves: on SIGINT/SIGTERM the server waits this long for
# in-flight requests, then ends what is left (uvicorn cancels it; granian stops the worker).
SHUTDOWN_GRACE_SECONDS = 3


@click.command("serve")
@click.option("--host", default="127.0.0.1", envvar="ENGINE_HOST", show_envvar=True, help="Address to bind.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, envvar="ENGINE_PORT", show_envvar=True, help="Port."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    envvar="ENGINE_WORKERS",
    show_envvar=True,
    help="API worker processes (they share one Valkey; one process serves about 1 500-2 000 orders/s).",
)
@click.option(
    "--server",
    type=click.Choice(SERVERS),
    default="uvicorn",
    envvar="ENGINE_SERVER",
    show_envvar=True,
    help="ASGI server. uvicorn matched or beat granian on bench/orders.py and ends open event streams "
    "without killing the process; granian must be installed separately.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    envvar="LOG_LEVEL",
    show_envvar=True,
)
@click.option("--access-log/--no-access-log", default=False, help="Log every request (costs throughput).")
def serve(host: str, port: int, workers: int, server: str, log_level: str, access_log: bool) -> None:
    """Run the REST API (uvloop).

    Settings come from the environment (API_KEY, TEST_ENV, REDIS_URL, NAMESPACE, COMMISSION, ...). With no
    REDIS_URL the embedded Valkey is started (or attached to) in the data directory and shared by every
    worker. Outside TEST_ENV an API_KEY of your own is required.
    """
    import os
    import sys

    from rich.console import Console
    from rich.logging import RichHandler

    from app.settings import Settings, SettingsError

    console = Console(stderr=True)
    logging.basicConfig(
        level=log_level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=True)],
    )
    logging.getLogger("uvicorn.error").addFilter(_quiet_cancelled_streams)
    try:
        settings = Settings.from_env()
        settings.require_api_key()
    except SettingsError as exc:
        console.print(f"[red]mockx serve:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)

    embedded = None
    if settings.redis_url is None:
        from app.store.embedded import EmbeddedValkey

        embedded = EmbeddedValkey(settings.data_dir, maxmemory=settings.maxmemory)
        try:
            os.environ["REDIS_URL"] = embedded.start()  # here, on the main thread: it lives as long as we do
        except RuntimeError as exc:
            console.print(f"[red]mockx serve:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(1)

    docs = f" — docs at http://{host}:{port}/docs" if settings.test_env else ""
    auth = "auth OFF (TEST_ENV=true)" if settings.test_env else "x-api-key required"
    logging.getLogger("mockx.serve").info(
        "MockX API on http://%s:%s with %s (%d worker%s), %s%s",
        host, port, server, workers, "" if workers == 1 else "s", auth, docs,
    )  # fmt: skip
    try:
        run_server(APP_FACTORY, host=host, port=port, workers=workers, server=server, log_level=log_level,
                   access_log=access_log)  # fmt: skip
    finally:
        if embedded is not None:
            embedded.stop()


def _quiet_cancelled_streams(record: logging.LogRecord) -> bool:
    """An event stream still open at shutdown is cancelled once the grace is over: one line, not a traceback."""
    import asyncio

    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, asyncio.CancelledError):
        record.msg, record.args = "%s", ("a request still open at shutdown (an event stream) was ended",)
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True


def run_server(
    target: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    server: str = "uvicorn",
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Serve the ASGI app factory ``target`` (``module:function``) with uvloop until SIGINT/SIGTERM."""
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(
            target,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            log_config=None,
            log_level=log_level,
            access_log=access_log,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            # WebSockets as Binance's: a ping every 20 s, closed after a minute without a pong
            ws_ping_interval=WS_PING_SECONDS,
            ws_ping_timeout=WS_PONG_TIMEOUT_SECONDS,
        )
        return

    try:
        from granian import Granian
        from granian.constants import Interfaces, Loops
    except ImportError:
        raise click.ClickException("granian is not installed: pip install granian, or use --server uvicorn") from None

    Granian(
        target,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        log_enabled=True,
        log_level=log_level,  # type: ignore[arg-type]
        log_access=access_log,
        respawn_failed_workers=True,
        workers_kill_timeout=SHUTDOWN_GRACE_SECONDS,
    ).serve()


COMMANDS: list[click.Command] = [serve]
