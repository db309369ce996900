"""MockX on Redis 7 as well as Valkey 9: the scripts use nothing only one of them has.

Needs a ``redis-server`` 7+ binary (``.ci/run`` installs Debian's, 7.0). Without one the module is
skipped locally, but ``MOCKX_REQUIRE_REDIS7=1`` (set by CI) turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.engine.audit import audit
from app.engine.exchange import Exchange
from app.settings import Settings
from tests.support.money import run_machine
from tests.support.valkey import start_redis_server


@pytest.fixture(scope="module")
def redis7_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("MOCKX_REQUIRE_REDIS7") == "1":
            pytest.fail("MOCKX_REQUIRE_REDIS7=1 but no redis-server binary is installed")
        pytest.skip("no redis-server binary here (CI installs Debian's Redis 7 and requires this test)")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version.split("v=")[1].split(".")[0]) >= 7, version
    process, url = start_redis_server(binary, tmp_path_factory.mktemp("redis7"))
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
async def exchange7(redis7_url: str, namespace: str, tmp_path: Path) -> AsyncIterator[Exchange]:
    ex = await Exchange.open(
        Settings(redis_url=redis7_url, namespace=namespace, price_stream=f"{namespace}:prices", data_dir=tmp_path)
    )
    yield ex
    await ex.close()


async def test_every_transition_works_on_redis_7(exchange7: Exchange) -> None:
    ex = exchange7
    info = await ex.redis.info("server")
    assert info["redis_version"].startswith("7."), info["redis_version"]
    await ex.deposit("USDT", "1000")
    await ex.withdraw("USDT", "1")
    await ex.set_balance("BTC", "1")
    await ex.push_price("BTC/USDT", "100", bid="99", ask="101")
    assert (await ex.create_order("BTC/USDT", "buy", "market", "1")).status == "closed"
    resting = await ex.create_order("BTC/USDT", "buy", "limit", "1", "90")
    canceled = await ex.create_order("BTC/USDT", "sell", "limit", "1", "120")
    await ex.cancel_order(canceled.id)
    assert (await ex.push_price("BTC/USDT", "89")).filled == 1
    assert (await ex.fetch_order(resting.id)).status == "closed"
    assert await ex.sweep() == 0
    assert await audit(ex.redis, ex.keys) == []
    await ex.reset()
    assert await ex.fetch_orders() == []


def test_money_invariants_hold_on_redis_7(redis7_url: str, tmp_path: Path) -> None:
    run_machine(redis7_url, tmp_path, 10)
