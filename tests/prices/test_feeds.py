"""Publishers: rounding, the synthetic GBM feed, replay files, back-pressure, a ccxt-like source, the CLI."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from redis.asyncio import Redis

from app.engine.exchange import Exchange
from app.engine.money import significant_digits
from app.engine.ticks import MalformedTick, parse_tick
from app.settings import Settings
from app.workers.feeds import (
    FeedError,
    ReplayTick,
    Synthetic,
    parse_timestamp,
    publish_max,
    publish_paced,
    read_replay,
    synthetic_items,
    synthetic_rounds,
)
from app.workers.live import ccxt_feed
from app.workers.publish import Publisher, round_price, spread
from app.workers.settlement import Worker, WorkerOptions
from cli.main import cli
from tests.support.money import money_problems, snapshot
from tests.support.processes import Processes, exited, run_mockx
from tests.support.valkey import stream_done
from tests.support.waiting import wait_until

DATA = Path(__file__).with_name("data") / "ticks.csv"


def first_rounds(spec: Synthetic, n: int) -> list[list[dict[str, str]]]:
    rounds = synthetic_rounds(spec)
    return [next(rounds) for _ in range(n)]


# rounding -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (64000.123456789, "64000.12345679"),
        ("123456789012.123456789", "123456789012.123"),
        (1e-12, "0.00000001"),
        ("20", "20"),
        (Decimal("99999.999999999"), "100000"),
    ],
)
def test_round_price_keeps_8_decimals_and_15_significant_digits(value: Any, expected: str) -> None:
    assert round_price(value) == Decimal(expected)


@pytest.mark.parametrize("value", [0, -1, "abc", float("nan"), float("inf"), "0"])
def test_round_price_refuses_what_is_not_a_positive_number(value: Any) -> None:
    with pytest.raises(ValueError, match="number"):
        round_price(value)


def test_spread_rounds_bid_down_and_ask_up() -> None:
    assert spread(Decimal("100"), Decimal("2")) == (Decimal("99.99"), Decimal("100.01"))
    assert spread(Decimal("1.00000001"), Decimal("3")) == (Decimal("0.99985"), Decimal("1.00015002"))
    assert spread(Decimal("0.00000001"), Decimal("2")) == (Decimal("0.00000001"), Decimal("0.00000002"))


# synthetic ------------------------------------------------------------------------------------------------
def test_synthetic_prices_are_deterministic_for_a_seed() -> None:
    spec = Synthetic(["BTC/USDT", "ETH/USDT"], seed=5, rate=10, start={"BTC/USDT": Decimal(64000)}, volatility=2.0)
    ticks = first_rounds(spec, 200)
    assert ticks == first_rounds(spec, 200)
    assert ticks != first_rounds(Synthetic(spec.symbols, seed=6, rate=10, start=spec.start, volatility=2.0), 200)
    assert [fields["symbol"] for fields in ticks[0]] == ["BTC/USDT", "ETH/USDT"]
    for fields in (f for r in ticks for f in r):
        tick = parse_tick(fields, "1-0")
        assert tick.bid <= tick.price <= tick.ask
        for value in (tick.price, tick.bid, tick.ask):
            assert value == value.quantize(Decimal("0.00000001"))
            assert significant_digits(value) <= 15
    btc = [Decimal(r[0]["price"]) for r in ticks]
    assert len(set(btc)) > 150
    assert Decimal(50000) < min(btc) < max(btc) < Decimal(80000)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (Synthetic([], rate=1), "at least one symbol"),
        (Synthetic(["BTC/USDT"], rate=0), "rate"),
        (Synthetic(["BTC/USDT"], volatility=-1), "volatility"),
        (Synthetic(["BTC/USDT"], spread_bps=Decimal(-1)), "spread"),
        (Synthetic(["BTC/USDT"], start={"ETH/USDT": Decimal(1)}), "not among the symbols"),
        (Synthetic(["BTC/USDT"], start={"BTC/USDT": Decimal(0)}), "must be positive"),
    ],
)
def test_synthetic_parameters_are_checked(spec: Synthetic, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        next(synthetic_rounds(spec))


async def test_synthetic_feed_publishes_at_its_rate(redis: Redis, settings: Settings) -> None:
    spec = Synthetic(["BTC/USDT", "ETH/USDT"], seed=1, rate=200)
    publisher = Publisher(redis, settings.price_stream, 1000)
    published = await publish_paced(publisher, synthetic_items(spec, 20))
    assert published == 40
    entries = await redis.xrange(settings.price_stream)
    assert [fields for _, fields in entries] == [f for r in first_rounds(spec, 20) for f in r]


# replay files ---------------------------------------------------------------------------------------------
def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_fixed_replay_file_reads_as_ticks() -> None:
    ticks = list(read_replay(DATA))
    assert len(ticks) == 300
    assert ticks[0] == ReplayTick(
        2,
        1_700_000_000_000,
        {
            "symbol": "BTC/USDT",
            "price": "63881.83869354",
            "bid": "63869.0623258",
            "ask": "63894.61506128",
            "ts": "1700000000000",
            "volume": "1000",
        },
    )


def test_replay_reads_headerless_csv_and_json_lines(tmp_path: Path) -> None:
    csv_file = write(tmp_path, "t.csv", "1700000000,btcusdt,100.5\n\n# note\n1700000001.5,ETH-USDT,10,9.9,10.1,7\n")
    assert [(t.ts, t.fields) for t in read_replay(csv_file)] == [
        (1_700_000_000_000, {"symbol": "BTC/USDT", "price": "100.5", "ts": "1700000000000"}),
        (
            1_700_000_001_500,
            {"symbol": "ETH/USDT", "price": "10", "bid": "9.9", "ask": "10.1", "ts": "1700000001500", "volume": "7"},
        ),
    ]
    jsonl = write(
        tmp_path,
        "t.jsonl",
        '{"timestamp": "2023-11-14T22:13:20Z", "pair": "BTC/USDT", "last": 0.1}\n'
        '{"ts": 1700000000001, "symbol": "BTC/USDT", "price": 64000.123456789}\n',
    )
    assert [(t.ts, t.fields["price"]) for t in read_replay(jsonl)] == [
        (1_700_000_000_000, "0.1"),
        (1_700_000_000_001, "64000.12345679"),
    ]


def test_replay_turns_candles_into_four_ticks(tmp_path: Path) -> None:
    candles = write(
        tmp_path,
        "c.csv",
        "timestamp,symbol,open,high,low,close,volume\n"
        "1700000000000,BTC/USDT,100,110,95,105,12\n"
        "1700000060000,BTC/USDT,105,106,90,91,3\n",
    )
    ticks = list(read_replay(candles, candle_ms=60_000))
    assert [(t.ts - 1_700_000_000_000, t.fields["price"]) for t in ticks] == [
        (0, "100"), (20_000, "95"), (40_000, "110"), (59_999, "105"),
        (60_000, "105"), (80_000, "106"), (100_000, "90"), (119_999, "91"),
    ]  # fmt: skip
    ohlcv = write(tmp_path, "o.jsonl", "[1700000000000, 1, 2, 0.5, 1.5, 100]\n")
    assert [t.fields["price"] for t in read_replay(ohlcv, symbol="ETH/USDT")] == ["1", "0.5", "2", "1.5"]
    assert {t.fields["symbol"] for t in read_replay(ohlcv, symbol="ETH/USDT")} == {"ETH/USDT"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "ts,symbol,price\n1,BTC/USDT,1\n2,BTC/USDT,abc\n", r"a\.csv:3: price must be a positive number"),
        ("b.csv", "ts,symbol,price\n1,BTC/USDT,-5\n", r"b\.csv:2: price must be a positive number"),
        ("c.csv", "ts,price\n1,5\n", r"c\.csv:2: no symbol"),
        ("d.csv", "ts,symbol,open,high,low,close\n1,BTC/USDT,10,9,8,9.5\n", r"d\.csv:2: candle low 8 / high 9"),
        ("e.csv", "ts,symbol,price\n1,BTC/USDT\n", r"e\.csv:2: 2 columns, the header has 3"),
        ("f.csv", "ts,symbol,price\nyesterday,BTC/USDT,1\n", r"f\.csv:2: timestamp 'yesterday'"),
        ("g.jsonl", '{"ts": 1, "symbol": "BTC/USDT", "price": 1}\n{"ts": 2,\n', r"g\.jsonl:2: not JSON"),
        ("h.csv", "ts,symbol,price,bid,ask\n1,BTC/USDT,10,11,10.5\n", r"h\.csv:2: bid 11 is above ask 10.5"),
        ("i.csv", "1,BTC/USDT,1,1,1,1,1,1\n", r"i\.csv:1: 8 columns"),
    ],
)
def test_bad_replay_input_names_the_file_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        list(read_replay(write(tmp_path, name, text)))


def test_a_missing_replay_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot be read"):
        list(read_replay(tmp_path / "missing.csv"))


@pytest.mark.parametrize(
    ("raw", "ms"),
    [("1700000000000", 1_700_000_000_000), ("1700000000", 1_700_000_000_000), ("1700000000.25", 1_700_000_000_250),
     ("2023-11-14T22:13:20+00:00", 1_700_000_000_000), ("2023-11-14 22:13:20", 1_700_000_000_000)],
)  # fmt: skip
def test_timestamps_in_ms_seconds_or_iso(raw: str, ms: int) -> None:
    assert parse_timestamp(raw) == ms


# publishing and back-pressure -----------------------------------------------------------------------------
async def test_a_malformed_tick_publishes_nothing(redis: Redis, settings: Settings) -> None:
    publisher = Publisher(redis, settings.price_stream, 1000)
    with pytest.raises(MalformedTick):
        await publisher.publish([{"symbol": "BTC/USDT", "price": "1"}, {"symbol": "BTC/USDT", "price": "0"}])
    assert await redis.exists(settings.price_stream) == 0


async def test_speed_max_waits_for_the_workers(exchange: Exchange, settings: Settings) -> None:
    stream = settings.price_stream
    await exchange.redis.xgroup_create(stream, "settlement", id="0", mkstream=True)
    publisher = Publisher(exchange.redis, stream, 1000)
    items = (fields for r in first_rounds(Synthetic(["BTC/USDT"], seed=2), 30) for fields in r)
    task = asyncio.create_task(publish_max(publisher, items, batch=5, max_backlog=10))

    async def published(n: int) -> bool:
        return await exchange.redis.xlen(stream) == n

    await wait_until(lambda: published(10), "the first two batches")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), 0.2)
    assert await exchange.redis.xlen(stream) == 10  # held back: the backlog is full
    while not task.done():
        await Worker(exchange, WorkerOptions(name="w", burst=True, sweep=False)).run()
        await asyncio.sleep(0.01)
    assert await task == 30
    await Worker(exchange, WorkerOptions(name="w", burst=True, sweep=False)).run()
    assert await stream_done(exchange.redis, stream)


# ccxt -----------------------------------------------------------------------------------------------------
class FakeCcxt:
    """A ccxt-like client: replies to fetch_tickers / watch_tickers from a list of frames."""

    def __init__(self, frames: list[dict[str, Any] | Exception]) -> None:
        self.frames = frames
        self.symbols: list[list[str] | None] = []
        self.closed = False

    async def fetch_tickers(self, symbols: list[str] | None = None) -> dict[str, Any]:
        self.symbols.append(symbols)
        frame = self.frames.pop(0) if len(self.frames) > 1 else self.frames[0]
        if isinstance(frame, Exception):
            raise frame
        return frame

    watch_tickers = fetch_tickers

    async def close(self) -> None:
        self.closed = True


def ccxt_ticker(symbol: str, last: float | None, **extra: Any) -> dict[str, Any]:
    return {"symbol": symbol, "last": last, "timestamp": 1_700_000_000_000, **extra}


@pytest.mark.parametrize("watch", [False, True])
async def test_ccxt_tickers_are_published_when_they_change(redis: Redis, settings: Settings, watch: bool) -> None:
    first = {
        "BTC/USDT": ccxt_ticker("BTC/USDT", 64000.5, bid=64000.4, ask=64000.6, baseVolume=1234.5, bidVolume=0.0),
        "ETH/USDT": ccxt_ticker("ETH/USDT", None),
        "XRP/USDT": ccxt_ticker("XRP/USDT", 0.5),
        "BTC/USDT:USDT": ccxt_ticker("BTC/USDT:USDT", 64010.0),
    }
    second = {"BTC/USDT": ccxt_ticker("BTC/USDT", 64001.123456789), "ETH/USDT": ccxt_ticker("ETH/USDT", 3200.25)}
    client = FakeCcxt([first, ConnectionError("exchange down"), first, second])
    publisher = Publisher(redis, settings.price_stream, 1000)

    published = await asyncio.wait_for(
        ccxt_feed(publisher, client, ["BTC/USDT", "ETH/USDT"], poll_sec=0.01, watch=watch, limit=3),
        10,
    )

    assert published == 3
    assert [fields for _, fields in await redis.xrange(settings.price_stream)] == [
        {"symbol": "BTC/USDT", "price": "64000.5", "bid": "64000.4", "ask": "64000.6", "ts": "1700000000000",
         "volume": "1234.5", "bid_qty": "0"},
        {"symbol": "BTC/USDT", "price": "64001.12345679", "ts": "1700000000000"},
        {"symbol": "ETH/USDT", "price": "3200.25", "ts": "1700000000000"},
    ]  # fmt: skip
    assert client.symbols[0] == ["BTC/USDT", "ETH/USDT"]


def test_the_ccxt_source_needs_the_live_extra(subprocess_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("ccxt", "ccxt.async_support", "ccxt.pro"):  # as on a machine without the extra
        monkeypatch.setitem(sys.modules, module, None)
    result = CliRunner().invoke(cli, ["feed", "--source", "ccxt", "--exchange", "binance"], env=subprocess_env)
    assert result.exit_code == 2
    assert "pip install 'mockx[live]'" in result.output


# the command ----------------------------------------------------------------------------------------------
def test_feed_dry_run_prints_the_same_ticks_for_the_same_seed(subprocess_env: dict[str, str]) -> None:
    args = ["feed", "-s", "BTC/USDT,ethusdt", "--seed", "3", "--count", "5", "--dry-run"]
    first = CliRunner().invoke(cli, args, env=subprocess_env)
    assert first.exit_code == 0, first.output
    lines = [json.loads(line) for line in first.output.splitlines()]
    assert [line["symbol"] for line in lines] == ["BTC/USDT", "ETH/USDT"] * 5
    assert CliRunner().invoke(cli, args, env=subprocess_env).output == first.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "replay"], "--source replay needs a FILE"),
        (["--rate", "0", "--dry-run", "--count", "1"], "rate must be a positive number"),
        (["--start-price", "BTC/USDT"], "--start-price takes SYMBOL=PRICE"),
        (["-s", "nope", "--dry-run", "--count", "1"], "is not a symbol"),
        (["--speed", "fast", str(DATA)], "--speed must be a positive number or 'max'"),
    ],
)
def test_bad_feed_options_exit_2_with_one_line(subprocess_env: dict[str, str], args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["feed", *args], env=subprocess_env)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


async def test_without_a_valkey_the_feed_says_where_it_looked(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    env = {**subprocess_env, "REDIS_URL": "", "MOCKX_DATA_DIR": str(tmp_path / "nothing-here")}
    result = await run_mockx("feed", "-s", "BTC/USDT", "--count", "1", env=env)
    assert result.returncode == 2
    assert str(tmp_path / "nothing-here") in result.stderr
    assert "MOCKX_DATA_DIR" in result.stderr
    assert "REDIS_URL" in result.stderr


async def test_a_bad_replay_file_publishes_nothing(
    tmp_path: Path, redis: Redis, settings: Settings, subprocess_env: dict[str, str]
) -> None:
    bad = write(tmp_path, "bad.csv", "ts,symbol,price\n1,BTC/USDT,1\n2,BTC/USDT,2\n3,BTC/USDT,zero\n")
    result = await run_mockx("feed", str(bad), env=subprocess_env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"mockx: {bad}:4: price must be a positive number, got 'zero'"
    assert await redis.exists(settings.price_stream) == 0


async def test_synthetic_feed_process_stops_on_sigterm(redis: Redis, settings: Settings, procs: Processes) -> None:
    feed = procs.start("feed", "-s", "BTC/USDT", "--rate", "50")

    async def publishing() -> bool:
        return await redis.xlen(settings.price_stream) >= 3

    await wait_until(publishing, "the synthetic feed to publish")
    feed.send_signal(signal.SIGTERM)
    assert await exited(feed) == 0
    summary = msgspec.json.decode(procs.output(feed).strip().splitlines()[-1])
    assert summary["published"] == await redis.xlen(settings.price_stream)


# determinism end to end -----------------------------------------------------------------------------------
async def test_replay_of_a_fixed_file_gives_identical_balances_and_orders_every_run(
    settings: Settings, procs: Processes, subprocess_env: dict[str, str]
) -> None:
    states = []
    for run in range(2):
        ns = f"{settings.namespace}r{run}"
        env = {**subprocess_env, "NAMESPACE": ns, "PRICE_STREAM": f"{ns}:prices"}
        ex = await Exchange.open(msgspec.structs.replace(settings, namespace=ns, price_stream=f"{ns}:prices"))
        try:
            await ex.deposit("USDT", "10000000")
            await ex.deposit("BTC", "100")
            await ex.deposit("ETH", "1000")
            starts = {"BTC/USDT": Decimal(64000), "ETH/USDT": Decimal(3200)}
            for symbol, price in starts.items():
                await ex.push_price(symbol, price)
            rng = random.Random(42)
            for _ in range(40):
                symbol = rng.choice(sorted(starts))
                side = rng.choice(["buy", "sell"])
                away = Decimal(rng.randint(1, 900)) / 10_000
                price = (starts[symbol] * (1 - away if side == "buy" else 1 + away)).quantize(Decimal("0.01"))
                await ex.create_order(symbol, side, "limit", Decimal(rng.randint(1, 500)) / 1000, price)

            worker = procs.start("worker", "--name", "replayer", "--block-ms", "200", env=env)
            feed = await run_mockx("feed", str(DATA), "--speed", "max", "--wait", env=env)
            assert feed.returncode == 0, feed.stderr
            assert json.loads(feed.stdout)["published"] == 300
            assert await stream_done(ex.redis, f"{ns}:prices")
            worker.send_signal(signal.SIGTERM)
            assert await exited(worker) == 0
            assert await money_problems(ex) == []
            states.append(await snapshot(ex))
        finally:
            await ex.close()
    assert states[0] == states[1]
    assert len(states[0]["trades"]) >= 10
    assert any(order[4] == "open" for order in states[0]["orders"].values())
