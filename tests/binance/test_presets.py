"""``MARKETS_PRESET=binance``: Binance's own filters for the common symbols, and its filter failures."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import msgspec
import pytest

from app.engine import presets
from app.settings import Settings, SettingsError
from tests.support.binance import KEY, SECRET, Native, binance_server, binance_settings, signed


@pytest.fixture
def preset_server(settings: Settings) -> Iterator[tuple[str, Native]]:
    """The Binance preset, with ETH/USDT overridden by MARKETS."""
    custom = '[{"symbol": "ETH/USDT", "price_tick": "0.1", "amount_step": "0.01", "min_notional": "10"}]'
    preset = msgspec.structs.replace(binance_settings(settings), markets=custom, markets_preset="binance")
    with binance_server(preset) as served:
        yield served


def test_the_preset_file_names_its_source_and_date() -> None:
    bundled = presets.preset("binance")
    assert "ccxt" in bundled.source
    assert "2026-12-04" in bundled.source
    assert {m.symbol for m in bundled.markets} == {
        "BTC/USDT", "ETH/USDT", "ADA/USDT", "LTC/USDT", "XRP/USDT", "DOGE/USDT", "TRX/USDT",
    }  # fmt: skip
    with pytest.raises(SettingsError):
        Settings.from_env({"MARKETS_PRESET": "kraken"})


def test_exchange_info_shows_binance_filters(preset_server: tuple[str, Native]) -> None:
    base, _ = preset_server
    info = httpx.get(f"{base}/api/v3/exchangeInfo").json()
    by_name = {s["symbol"]: {f["filterType"]: f for f in s["filters"]} for s in info["symbols"]}
    assert by_name["BTCUSDT"]["LOT_SIZE"] == {
        "filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000",
    }  # fmt: skip
    assert by_name["BTCUSDT"]["PRICE_FILTER"]["maxPrice"] == "1000000.00000000"
    assert by_name["DOGEUSDT"]["PRICE_FILTER"]["tickSize"] == "0.00001000"
    assert by_name["BTCUSDT"]["NOTIONAL"]["minNotional"] == "5.00000000"
    assert by_name["ETHUSDT"]["PRICE_FILTER"]["tickSize"] == "0.10000000"  # MARKETS overrides the preset


@pytest.mark.parametrize(
    ("quantity", "price", "failure"),
    [
        ("0.000015", "50000", "LOT_SIZE"),  # off the step
        ("0.000001", "50000", "LOT_SIZE"),  # below minQty
        ("9001", "50000", "LOT_SIZE"),  # above maxQty
        ("0.001", "50000.005", "PRICE_FILTER"),  # off the tick
        ("0.001", "1000001", "PRICE_FILTER"),  # above maxPrice
        ("0.00001", "50000", "NOTIONAL"),  # 0.5 USDT < 5
    ],
)
def test_filter_failures_as_on_binance(preset_server: tuple[str, Native], quantity: str, price: str,
                                       failure: str) -> None:  # fmt: skip
    base, _ = preset_server
    query = signed(
        SECRET,
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": quantity,
         "price": price},
    )  # fmt: skip
    r = httpx.post(f"{base}/api/v3/order?{query}", headers={"X-MBX-APIKEY": KEY})
    assert r.status_code == 400, r.text
    assert r.json() == {"code": -1013, "msg": f"Filter failure: {failure}"}
