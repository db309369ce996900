"""The embedded Valkey persists with AOF: stop it, start it again, nothing is lost."""

from pathlib import Path

import msgspec

from app.engine.exchange import Exchange
from app.settings import Settings
from app.store.embedded import EmbeddedValkey


async def test_state_survives_an_embedded_valkey_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, test_env=True)  # no REDIS_URL: the embedded server
    ex = await Exchange.open(settings)
    await ex.deposit("USDT", "1000")
    await ex.push_price("BTC/USDT", "100")
    resting = await ex.create_order("BTC/USDT", "buy", "limit", "1", "90", client_order_id="keep-me")
    await ex.create_order("BTC/USDT", "buy", "market", "0.5")
    before = (await ex.fetch_balance()).rows, [msgspec.to_builtins(o) for o in await ex.fetch_orders()]
    await ex.close()  # stops the server (SIGTERM: AOF flushed)
    assert not (tmp_path / "valkey" / "valkey.url").exists()

    ex = await Exchange.open(settings)
    try:
        after = (await ex.fetch_balance()).rows, [msgspec.to_builtins(o) for o in await ex.fetch_orders()]
        assert after == before
        assert (await ex.fetch_order("keep-me")).status == "open"
        assert (await ex.push_price("BTC/USDT", "85")).filled == 1  # the resting order is still in its book
        assert (await ex.fetch_order(resting.id)).status == "closed"
    finally:
        await ex.close()


def test_a_second_process_attaches_instead_of_starting_another_server(tmp_path: Path) -> None:
    first = EmbeddedValkey(tmp_path)
    url = first.start()
    try:
        second = EmbeddedValkey(tmp_path)
        assert second.start() == url
        assert not second.owner
        second.stop()  # not the owner: the server keeps running
        assert EmbeddedValkey(tmp_path).start() == url
    finally:
        first.stop()
