"""`mockx` commands: worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import rich_click as click

from cli.prices import fail, load_settings, redis_url_option, run, setup_logging, stream_options, valkey_url

if TYPE_CHECKING:
    from app.settings import Settings


@click.command("worker")
@redis_url_option
@click.option(
    "--namespace",
    envvar="NAMESPACE",
    show_envvar=True,
    metavar="NS",
    help="State namespace.  [default: mockx]",
)
@stream_options
@click.option(
    "--name",
    envvar="WORKER_NAME",
    show_envvar=True,
    metavar="NAME",
    help="Consumer name, stable per replica: a restart first finishes its own entries.  [default: host name]",
)
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 1000), help="Entries per read.")
@click.option(
    "--block-ms",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="BLOCK of a read (below REDIS_TIMEOUT).",
)
@click.option(
    "--claim-idle-ms",
    default=30_000,
    show_default=True,
    type=click.IntRange(1),
    help="Claim entries another consumer has held this long without acknowledging them.",
)
@click.option(
    "--claim-every",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Seconds between claim passes.",
)
@click.option(
    "--max-deliveries",
    default=5,
    show_default=True,
    type=click.IntRange(1),
    help="Dead-letter an entry delivered more often than this.",
)
@click.option(
    "--tick-loop-sec",
    envvar="TICK_LOOP_SEC",
    show_envvar=True,
    metavar="SECONDS",
    help="Sweep interval: older price keys, and resting orders against the latest prices.  [default: 10]",
)
@click.option("--sweep/--no-sweep", default=True, show_default=True, help="Run the periodic sweep.")
@click.option(
    "--grace",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to finish in-flight ticks after SIGTERM.",
)
@click.option("--burst", is_flag=True, help="Drain the stream (and idle entries of others), then exit.")
@click.option(
    "--check",
    is_flag=True,
    help="Health check: exit 0 if this worker's heartbeat is fresh and healthy, else 1.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def worker(
    redis_url: str | None,
    namespace: str | None,
    stream: str | None,
    group: str | None,
    name: str | None,
    batch: int,
    block_ms: int,
    claim_idle_ms: int,
    claim_every: float,
    max_deliveries: int,
    tick_loop_sec: str | None,
    sweep: bool,
    grace: float,
    burst: bool,
    check: bool,
    verbose: bool,
) -> None:
    """Apply price ticks: a settlement worker in the price stream's consumer group.

    Run one per replica (each with its own --name); they share the work and take over each other's
    entries when one dies. Logs go to stderr; a JSON summary goes to stdout at exit.
    """
    settings = load_settings(
        {
            "REDIS_URL": redis_url,
            "NAMESPACE": namespace,
            "PRICE_STREAM": stream,
            "CONSUMER_GROUP": group,
            "TICK_LOOP_SEC": tick_loop_sec,
        }
    )
    from app.workers.options import WorkerOptions, default_name

    options = WorkerOptions(
        name=name or default_name(),
        group=settings.consumer_group,
        batch=batch,
        block_ms=block_ms,
        claim_idle_ms=claim_idle_ms,
        claim_every=claim_every,
        max_deliveries=max_deliveries,
        burst=burst,
        sweep=sweep,
    )
    try:
        options.check(settings)
    except ValueError as exc:
        fail(str(exc))
    if check:
        raise SystemExit(_check(settings, options.name))
    setup_logging(verbose)

    import msgspec

    from app.workers.settlement import serve
    from app.workers.signals import run_until_signalled

    try:
        counters = run(lambda: run_until_signalled(lambda stop: serve(settings, options, stop), grace=grace))
    except ValueError as exc:  # declared markets (MARKETS / MARKETS_FILE) that do not parse
        fail(str(exc))
    if counters is not None:
        click.echo(msgspec.json.encode(counters).decode())


def _check(settings: Settings, name: str) -> int:
    """0 when the worker's heartbeat exists and says healthy; prints it (JSON) or the reason."""
    import redis
    import redis.exceptions

    from app.store.keys import Keys
    from app.workers.options import heartbeat_decoder

    url = valkey_url(settings)
    if url is None:
        click.echo(f"worker {name}: no Valkey to check (set REDIS_URL)", err=True)
        return 1
    if url.startswith(("valkey://", "valkeys://")):
        url = "redis" + url[len("valkey") :]
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)
    try:
        raw = client.get(Keys(settings.namespace).heartbeat(name))
    except redis.exceptions.RedisError as exc:
        click.echo(f"worker {name}: Valkey unreachable ({exc})", err=True)
        return 1
    finally:
        client.close()
    if raw is None:
        click.echo(f"worker {name}: no heartbeat (not running, or stalled for longer than its TTL)", err=True)
        return 1
    beat = heartbeat_decoder.decode(str(raw))
    click.echo(str(raw))
    if not beat.healthy:
        click.echo(f"worker {name}: unhealthy: {beat.last_error}", err=True)
        return 1
    return 0


COMMANDS: list[click.Command] = [worker]
