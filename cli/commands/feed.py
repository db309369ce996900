"""`mockx` commands: feed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import rich_click as click

from cli.backfill import backfill_ccxt, backfill_file
from cli.prices import fail, load_settings, redis_url_option, run, setup_logging, stream_options, valkey_url

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Coroutine, Iterator

    from app.settings import Settings
    from app.workers.publish import Publisher

    Plan = Callable[[Publisher], Coroutine[Any, Any, int]]


@click.command("feed")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--source",
    type=click.Choice(["synthetic", "replay", "ccxt"]),
    help="Where prices come from.  [default: replay when FILE is given, else synthetic]",
)
@click.option("-s", "--symbols", multiple=True, metavar="SYMBOLS", help="Comma-separated symbols (synthetic, ccxt).")
@click.option("--rate", default=1.0, show_default=True, type=float, help="synthetic: ticks per second per symbol.")
@click.option("--seed", default=0, show_default=True, type=int, help="synthetic: random seed (same seed, same ticks).")
@click.option("--count", type=click.IntRange(1), help="synthetic: rounds to publish; ccxt: ticks.  [default: no end]")
@click.option(
    "--start-price",
    multiple=True,
    metavar="SYMBOL=PRICE",
    help="synthetic: first price of a symbol.  [default: 100]",
)
@click.option("--volatility", default=0.6, show_default=True, type=float, help="synthetic: annual volatility.")
@click.option("--drift", default=0.0, show_default=True, type=float, help="synthetic: annual drift.")
@click.option("--spread-bps", default="2", show_default=True, help="synthetic: bid/ask spread in basis points.")
@click.option(
    "--speed",
    default="1",
    show_default=True,
    help="replay: times the recorded pace, or 'max' (as fast as the workers absorb).",
)
@click.option(
    "--format",
    "kind",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "ticks", "candles"]),
    help="replay: what the rows are.",
)
@click.option("--symbol", metavar="SYMBOL", help="replay: symbol of rows without one (ccxt OHLCV files).")
@click.option("--candle-ms", default=60_000, show_default=True, type=click.IntRange(4), help="replay: candle length.")
@click.option(
    "--max-backlog",
    default=2500,
    show_default=True,
    type=click.IntRange(1),
    help="--speed max: most ticks waiting for the workers.",
)
@click.option(
    "--backfill",
    is_flag=False,
    flag_value="all",
    default=None,
    metavar="[N]",
    help="Store candles as history, no ticks replayed (1m, 1h or 1d, see --candle-ms): replay: FILE's; "
    "ccxt: the last N closed candles of each symbol.",
)
@click.option("--wait", is_flag=True, help="Exit only when the workers have applied every tick published.")
@click.option("--exchange", default="binance", show_default=True, help="ccxt: exchange id.")
@click.option(
    "--exchange-url",
    metavar="URL",
    help="ccxt: the exchange's API at this base URL instead (another MockX: http://127.0.0.1:8000).",
)
@click.option(
    "--poll-sec", default=2.0, show_default=True, type=click.FloatRange(min=0.05), help="ccxt: poll interval."
)
@click.option("--watch", is_flag=True, help="ccxt: use ccxt.pro watch_tickers instead of polling.")
@click.option(
    "--dry-run", is_flag=True, help="Print the ticks as JSON lines instead of publishing (synthetic, replay)."
)
@redis_url_option
@stream_options
@click.option(
    "--maxlen",
    envvar="PRICE_STREAM_MAXLEN",
    show_envvar=True,
    metavar="N",
    help="Approximate cap of the price stream (XADD MAXLEN ~).  [default: 100000]",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def feed(
    file: Path | None,
    source: str | None,
    symbols: tuple[str, ...],
    rate: float,
    seed: int,
    count: int | None,
    start_price: tuple[str, ...],
    volatility: float,
    drift: float,
    spread_bps: str,
    speed: str,
    kind: str,
    symbol: str | None,
    candle_ms: int,
    max_backlog: int,
    backfill: str | None,
    wait: bool,
    exchange: str,
    exchange_url: str | None,
    poll_sec: float,
    watch: bool,
    dry_run: bool,
    redis_url: str | None,
    stream: str | None,
    group: str | None,
    maxlen: str | None,
    verbose: bool,
) -> None:
    """Publish prices into the price stream: synthetic, a replay of recorded ticks or candles, or ccxt.

    \b
    mockx feed -s BTC/USDT,ETH/USDT --rate 5 --seed 7      synthetic GBM prices
    mockx feed day.csv --speed max --wait                    back-test a day in seconds
    mockx feed --source ccxt --exchange binance -s BTC/USDT  live prices (needs mockx[live])
    mockx feed btc-1m.json --backfill --symbol BTC/USDT      candle history, stored at once
    mockx feed --source ccxt -s BTC/USDT --backfill 1000     the last 1 000 candles of an exchange
    """
    env = {"REDIS_URL": redis_url, "PRICE_STREAM": stream, "CONSUMER_GROUP": group, "PRICE_STREAM_MAXLEN": maxlen}
    settings = load_settings(env)
    source = source or ("replay" if file is not None else "synthetic")
    if source == "replay" and file is None:
        fail("--source replay needs a FILE")
    if source != "replay" and file is not None:
        fail(f"FILE is only for --source replay, not {source}")
    if dry_run and source == "ccxt":
        fail("--dry-run works with the synthetic and replay sources")
    setup_logging(verbose)
    if backfill is not None:
        fetch = backfill_ccxt if source == "ccxt" else backfill_file
        fetch(settings, source=source, exchange=exchange, url=exchange_url, symbols=symbols, file=file,
              symbol=symbol, count=backfill, candle_ms=candle_ms)  # fmt: skip
        return

    from app.workers import feeds

    try:
        if source == "synthetic":
            plan = _synthetic(symbols, rate, seed, count, start_price, volatility, drift, spread_bps, dry_run)
        elif source == "replay":
            assert file is not None
            plan = _replay(file, speed, kind, symbol, candle_ms, max_backlog, dry_run)
        else:
            plan = _ccxt(exchange, exchange_url, symbols, poll_sec, watch, count)
    except feeds.FeedError as exc:
        fail(str(exc))
    if plan is None:  # a dry run printed everything already
        return
    url = valkey_url(settings)
    if url is None:
        fail(
            f"no Valkey to publish to: none is running for the data directory {settings.data_dir}; start "
            "`mockx up` (or `mockx worker`) with the same MOCKX_DATA_DIR, or set REDIS_URL"
        )
    summary = run(lambda: _publish(settings, url, plan, wait))
    click.echo(summary)


def _synthetic(
    symbols: tuple[str, ...],
    rate: float,
    seed: int,
    count: int | None,
    start_price: tuple[str, ...],
    volatility: float,
    drift: float,
    spread_bps: str,
    dry_run: bool,
) -> Plan | None:
    from decimal import Decimal, InvalidOperation

    from app.workers import feeds

    chosen = feeds.parse_symbols(symbols or ("BTC/USDT",))
    start: dict[str, Decimal] = {}
    for item in start_price:
        sym, sep, price = item.partition("=")
        if not sep:
            raise feeds.FeedError(f"--start-price takes SYMBOL=PRICE, got {item!r}")
        try:
            start[feeds.parse_symbols([sym])[0]] = Decimal(price)
        except InvalidOperation:
            raise feeds.FeedError(f"--start-price {item!r}: {price!r} is not a number") from None
    try:
        bps = Decimal(spread_bps)
    except InvalidOperation:
        raise feeds.FeedError(f"--spread-bps must be a number, got {spread_bps!r}") from None
    spec = feeds.Synthetic(chosen, seed, rate, start, volatility, drift, bps)
    spec.check()
    if dry_run:
        if count is None:
            raise feeds.FeedError("--dry-run of the synthetic source needs --count")
        _print(fields for _, fields in feeds.synthetic_items(spec, count))
        return None

    async def plan(publisher: Publisher) -> int:
        return await feeds.publish_paced(publisher, feeds.synthetic_items(spec, count))

    return plan


def _replay(
    file: Path, speed: str, kind: str, symbol: str | None, candle_ms: int, max_backlog: int, dry_run: bool
) -> Plan | None:
    from app.workers import feeds

    factor: float | None = None
    if speed.strip().lower() != "max":
        try:
            factor = float(speed)
        except ValueError:
            factor = 0.0
        if not factor > 0 or factor == float("inf"):
            raise feeds.FeedError(f"--speed must be a positive number or 'max', got {speed!r}")

    def ticks() -> Iterator[feeds.ReplayTick]:
        return feeds.read_replay(file, kind=cast("feeds.ReplayKind", kind), symbol=symbol, candle_ms=candle_ms)

    total = sum(1 for _ in ticks())  # the whole file is checked before anything is published
    if dry_run:
        _print(t.fields for t in ticks())
        return None

    async def plan(publisher: Publisher) -> int:
        import logging

        logging.getLogger(__name__).info("replaying %d ticks from %s at speed %s", total, file, speed)
        if factor is None:
            if await publisher.backlog() is None:
                logging.getLogger(__name__).warning(
                    "waiting for settlement workers: no consumer group %s on %s yet",
                    publisher.group,
                    publisher.stream,
                )
            return await feeds.publish_max(publisher, (t.fields for t in ticks()), max_backlog=max_backlog)
        return await feeds.publish_paced(publisher, feeds.replay_items(ticks(), factor))

    return plan


def _ccxt(
    exchange: str, url: str | None, symbols: tuple[str, ...], poll_sec: float, watch: bool, count: int | None
) -> Plan:
    from app.workers import feeds, live

    chosen = feeds.parse_symbols(symbols or ("BTC/USDT",))
    client = live.open_ccxt(exchange, watch=watch, url=url)

    async def plan(publisher: Publisher) -> int:
        try:
            return await live.ccxt_feed(publisher, client, chosen, poll_sec=poll_sec, watch=watch, limit=count)
        finally:
            await client.close()

    return plan


async def _publish(settings: Settings, url: str, plan: Plan, wait: bool) -> str:
    import logging

    import msgspec

    from app.store.embedded import redis_client
    from app.workers.publish import Publisher
    from app.workers.signals import run_until_signalled

    log = logging.getLogger(__name__)
    redis = redis_client(url, timeout=settings.redis_timeout, max_connections=4)

    async def main(stop: asyncio.Event) -> int:
        publisher = Publisher(
            redis, settings.price_stream, settings.price_stream_maxlen, settings.consumer_group, stop=stop
        )
        published = await plan(publisher)
        if wait and not stop.is_set():
            if await publisher.backlog() is None:
                log.warning("not waiting: no consumer group %s on %s", publisher.group, publisher.stream)
            else:
                await publisher.wait_for_room(0)
        return published

    try:
        published = await run_until_signalled(main, grace=5.0)
    finally:
        await redis.aclose()
    return msgspec.json.encode({"stream": settings.price_stream, "published": published or 0}).decode()


def _print(items: Any) -> None:
    import msgspec

    encoder = msgspec.json.Encoder()
    for fields in items:
        click.echo(encoder.encode(fields).decode())


COMMANDS: list[click.Command] = [feed]
