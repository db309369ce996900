"""The public market data routes in Binance's shapes: numbers as 8-decimal strings, Binance's errors."""

from __future__ import annotations

from decimal import Decimal

from app.engine.exchange import Exchange
from tests.support.binance import Native, Raw, binance_error
from tests.support.book import Ticks, book_fields, settle_batch


def test_ping_time_and_exchange_info(binance: tuple[str, Native]) -> None:
    raw = Raw(binance[0])
    for prefix in ("/api/v3", "/api/v1"):
        assert raw.public(f"{prefix}/ping").json() == {}
        assert raw.public(f"{prefix}/time").json()["serverTime"] > 0
    info = raw.public("/api/v3/exchangeInfo").json()
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    btc = info["symbols"][0]
    assert btc["orderTypes"] == [
        "LIMIT",
        "LIMIT_MAKER",
        "MARKET",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    ]
    assert btc["permissionSets"] == [["SPOT"]]
    assert [f["filterType"] for f in btc["filters"]] == ["PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL"]
    assert btc["filters"][0]["tickSize"] == "0.01000000"
    one = raw.public("/api/v3/exchangeInfo", symbol="ETHUSDT").json()
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
    two = raw.public("/api/v3/exchangeInfo", symbols='["ETHUSDT","BTCUSDT"]').json()
    assert [s["symbol"] for s in two["symbols"]] == ["ETHUSDT", "BTCUSDT"]
    assert raw.public("/api/v3/exchangeInfo", permissions="MARGIN").json()["symbols"] == []
    binance_error(raw.public("/api/v3/exchangeInfo", symbol="NOPE"), -1121, "Invalid symbol.")
    for futures in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
        assert raw.public(futures).json()["symbols"] == []


def test_depth_tickers_klines_and_avg_price(binance: tuple[str, Native]) -> None:
    raw = Raw(binance[0])
    depth = raw.public("/api/v3/depth", symbol="BTCUSDT", limit=5).json()
    assert depth["bids"][0] == ["59999.00000000", depth["bids"][0][1]]
    assert len(depth["asks"]) == 5
    assert isinstance(depth["lastUpdateId"], int)
    full = raw.public("/api/v3/ticker/24hr", symbol="BTCUSDT").json()
    assert full["lastPrice"] == "60000.00000000"
    assert full["bidPrice"] == "59999.00000000"
    mini = raw.public("/api/v3/ticker/24hr", symbol="BTCUSDT", type="MINI").json()
    assert "bidPrice" not in mini
    assert mini["lastPrice"] == "60000.00000000"
    rows = raw.public("/api/v3/ticker/24hr", symbols='["ETHUSDT","BTCUSDT"]').json()
    assert [r["symbol"] for r in rows] == ["ETHUSDT", "BTCUSDT"]
    assert len(raw.public("/api/v3/ticker/24hr").json()) == 2
    assert raw.public("/api/v3/ticker", symbol="ETHUSDT").json()["lastPrice"] == "3000.00000000"
    hour = raw.public("/api/v3/ticker", symbol="BTCUSDT", windowSize="1h").json()
    assert (hour["openPrice"], hour["lastPrice"], hour["priceChange"]) == ("60000.00000000",) * 2 + ("0.00000000",)
    assert hour["closeTime"] - hour["openTime"] == 3_600_000
    minis = raw.public("/api/v3/ticker", symbols='["BTCUSDT","ETHUSDT"]', windowSize="15m", type="MINI").json()
    assert [m["symbol"] for m in minis] == ["BTCUSDT", "ETHUSDT"]
    assert "priceChange" not in minis[0]
    binance_error(raw.public("/api/v3/ticker", symbol="BTCUSDT", windowSize="60m"), -1130)
    binance_error(raw.public("/api/v3/ticker", symbol="BTCUSDT", windowSize="8d"), -1130)
    binance_error(raw.public("/api/v3/ticker"), -1102)
    assert raw.public("/api/v3/ticker/price").json() == [
        {"symbol": "BTCUSDT", "price": "60000.00000000"}, {"symbol": "ETHUSDT", "price": "3000.00000000"},
    ]  # fmt: skip
    book = raw.public("/api/v3/ticker/bookTicker", symbol="ETHUSDT").json()
    assert (book["bidPrice"], book["askPrice"]) == ("2999.00000000", "3001.00000000")
    (kline,) = raw.public("/api/v3/klines", symbol="BTCUSDT", interval="1m").json()
    assert kline[4] == "60000.00000000"
    assert kline[6] == kline[0] + 59_999
    assert raw.public("/api/v3/uiKlines", symbol="BTCUSDT", interval="1h").json()[0][4] == "60000.00000000"
    assert raw.public("/api/v3/avgPrice", symbol="BTCUSDT").json()["price"] == "60000.00000000"
    binance_error(raw.public("/api/v3/klines", symbol="BTCUSDT", interval="2m"), -1120, "Invalid interval.")
    binance_error(raw.public("/api/v3/depth"), -1102,
                  "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")  # fmt: skip
    binance_error(raw.public("/api/v3/depth", symbol="btcusdt"), -1100)
    binance_error(raw.public("/api/v3/ticker/price", symbol="NOPEUSDT"), -1121)
    binance_error(raw.public("/api/v3/ticker/24hr", type="HUGE"), -1139)


async def test_trades_and_agg_trades_from_the_tape(binance: tuple[str, Native], exchange: Exchange) -> None:
    tick = Ticks("BTC/USDT")
    run = tick(
        book_fields([("60000", "1")], [("60001", "1")], qty="0.25"),  # at the bid: a sell took it
        book_fields([("60010", "1")], [("60011", "1")], qty="0.5", price="60011"),
    )  # at the ask: a buy
    await settle_batch(exchange, run)
    raw = Raw(binance[0])
    trades = raw.public("/api/v3/trades", symbol="BTCUSDT").json()
    assert [(t["price"], t["qty"], t["isBuyerMaker"]) for t in trades] == [
        ("60000.00000000", "0.25000000", True), ("60011.00000000", "0.50000000", False),
    ]  # fmt: skip
    assert Decimal(trades[1]["quoteQty"]) == Decimal("30005.5")
    agg = raw.public("/api/v3/aggTrades", symbol="BTCUSDT", limit=1).json()
    assert [(a["p"], a["m"]) for a in agg] == [("60011.00000000", False)]
    assert raw.public("/api/v3/aggTrades", symbol="BTCUSDT", fromId=trades[1]["id"]).json()[0]["a"] == trades[1]["id"]
    assert len(raw.public("/api/v3/historicalTrades", symbol="BTCUSDT", fromId=trades[0]["id"]).json()) == 2
