"""``mockx watch`` end to end: real API, worker and Valkey; the API is killed and restarted under it."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import redis

from app.settings import Settings
from app.store.keys import Keys
from tests.support.cli import Cli, shows
from tests.support.processes import MOCKX, Server
from tests.support.waiting import wait_for


class Watch:
    """A running ``mockx watch``: its stdout lines in a queue, its stderr in a file."""

    def __init__(self, args: list[str], env: dict[str, str], err: Path) -> None:
        self.err_path = err
        with err.open("wb") as out:
            self.process = subprocess.Popen(
                [MOCKX, "watch", *args], env=env, stdout=subprocess.PIPE, stderr=out, text=True
            )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()
        self.seen: list[dict[str, Any]] = []

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def until(self, predicate: Any, what: str, seconds: float = 30.0) -> None:
        """Read events until one matches ``predicate``."""
        import time

        deadline = time.monotonic() + seconds
        while not any(predicate(e) for e in self.seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {what} from mockx watch; saw {[e['type'] for e in self.seen]}\n{self.err()}"
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                assert self.process.poll() is None, f"mockx watch exited {self.process.returncode}\n{self.err()}"
                continue
            self.seen.append(json.loads(line))

    def err(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.fixture
def store(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True)
    yield client
    client.close()


def fill_of(order_id: str) -> Any:
    return lambda e: e["type"] == "order.filled" and e["data"]["order"]["id"] == order_id


def test_watch_json_sees_created_then_filled_and_resumes_across_an_api_restart(
    cli: Cli, cli_env: dict[str, str], api: Server, store: redis.Redis, settings: Settings, tmp_path: Path
) -> None:
    events_key = Keys(settings.namespace).events

    def tick(price: str) -> None:
        """A price tick straight onto the stream, as a feed publishes it: the worker applies it."""
        store.xadd(settings.price_stream, {"symbol": "BTC/USDT", "price": price})

    cli.ok("fund", "USDT", "100000")
    cli.ok("set-price", "BTC/USDT", "51000")
    start = store.xrevrange(events_key, count=1)[0][0]
    watch = Watch(["--json", "--since", start], cli_env, tmp_path / "watch.err")
    try:
        first = json.loads(cli.ok("order", "BTC/USDT", "buy", "0.01", "--price", "50000", "--json"))
        tick("49900")
        watch.until(fill_of(first["id"]), f"order.filled of order {first['id']}")
        mine = [e["type"] for e in watch.seen if e["type"].startswith("order.")]
        assert mine == ["order.created", "order.filled"], mine
        created = next(e for e in watch.seen if e["type"] == "order.created")
        filled = next(e for e in watch.seen if e["type"] == "order.filled")
        assert created["data"]["order"]["status"] == "open"
        assert filled["data"]["order"]["status"] == "closed"
        assert filled["data"]["trade"]["price"] == 50000

        # two more resting orders, then the API dies; the worker fills both while the API is down
        second = json.loads(cli.ok("order", "BTC/USDT", "buy", "0.01", "--price", "49000", "--json"))
        third = json.loads(cli.ok("order", "BTC/USDT", "buy", "0.01", "--price", "48000", "--json"))
        watch.until(lambda e: e["type"] == "order.created" and e["data"]["order"]["id"] == third["id"], "third")
        api.kill()
        tick("48500")
        tick("47000")
        wait_for(lambda: "reconnecting" in watch.err(), "mockx watch saying it reconnects", seconds=15)
        api.start()
        watch.until(fill_of(third["id"]), f"order.filled of order {third['id']} after the restart")
        watch.until(lambda e: e["id"] == store.xrevrange(events_key, count=1)[0][0], "the last event")

        ids = [e["id"] for e in watch.seen]
        expected = [entry_id for entry_id, _ in store.xrange(events_key, min=f"({start}")]
        assert ids == expected, "every event exactly once, in order, across the restart"
        fills = [e["data"]["order"]["id"] for e in watch.seen if e["type"] == "order.filled"]
        assert fills == [first["id"], second["id"], third["id"]]
        assert "reconnected" in watch.err()
    finally:
        assert watch.stop() == 0, watch.err()


def test_watch_prints_one_line_per_event_and_filters(cli: Cli, tmp_path: Path) -> None:
    cli.ok("fund", "USDT", "100000")
    cli.ok("set-price", "BTC/USDT", "50000")
    cli.ok("set-price", "ETH/USDT", "3000")
    cli.fails(1, "order", "ETH/USDT", "sell", "1", "--price", "3100")  # refused: no ETH, so no event
    cli.ok("order", "BTC/USDT", "buy", "0.05")
    cli.ok("order", "ETH/USDT", "buy", "1")

    lines = cli.ok("watch", "--since", "all", "--types", "order", "--symbol", "BTCUSDT", "-n", "2").splitlines()
    assert len(lines) == 2, lines
    shows(lines[0], "order.created", "BTC/USDT", "buy", "open")
    shows(lines[1], "order.filled", "0.05 @ 50000", "closed", "fee 1.875 USDT")

    types = [json.loads(line)["type"] for line in cli.ok("watch", "--since", "all", "--json", "-n", "6").splitlines()]
    assert types[:2] == ["balance.changed", "market.created"], types
    every = cli.ok("watch", "--since", "all", "--types", "ticker.updated,order.filled", "-n", "4").splitlines()
    assert [line.split()[1] for line in every] == ["ticker.updated", "ticker.updated", "order.filled", "order.filled"]

    bad = cli.fails(1, "watch", "--types", "no such type!")
    assert bad.strip().startswith("mockx: BadRequest: "), bad
    assert "BadRequest" in cli.fails(1, "watch", "--since", "yesterday")


def test_watch_resumes_after_a_closed_notice_and_compares_every_shards_position(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cli.commands.watch import Watcher

    watcher = Watcher(None, None, None, None, None, as_json=True)  # type: ignore[arg-type]  # no API: lines given
    lines = [
        *("id: 7-0,5-0", ""),  # the opening message: where the stream starts
        *("id: 7-0,6-0", "event: order.created", 'data: {"type":"order.created","n":1}', ""),
        *("id: 8-0,6-0", "event: order.filled", 'data: {"type":"order.filled","n":2}', ""),
        *("id: 7-0,6-0", "event: order.created", 'data: {"type":"order.created","n":1}', ""),  # repeated: skipped
        *("event: closed", 'data: {"type":"closed","reason":"too slow","lastId":"8-0,6-0"}', ""),
        *("id: 9-0,6-0", "event: order.created", 'data: {"type":"order.created","n":3}', ""),  # after the end
    ]
    assert watcher._follow(iter(lines)) is False  # the stream ended: the watcher reconnects
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["n"] for p in printed] == [1, 2]
    assert watcher.last_id == "8-0,6-0"  # resumes right after the last event printed
