import asyncio
from decimal import Decimal

from app.engine.audit import audit
from app.engine.errors import InsufficientFunds
from app.engine.exchange import Exchange


async def test_200_concurrent_buys_with_funds_for_exactly_50(exchange: Exchange) -> None:
    await exchange.push_price("BTC/USDT", "100")
    # one 0.1 BTC market buy costs 10 USDT + 0.0075 fee
    await exchange.deposit("USDT", Decimal("10.0075") * 50)

    async def buy() -> str:
        try:
            await exchange.create_order("BTC/USDT", "buy", "market", "0.1")
        except InsufficientFunds:
            return "refused"
        return "accepted"

    outcomes = await asyncio.gather(*(buy() for _ in range(200)))
    assert outcomes.count("accepted") == 50
    assert outcomes.count("refused") == 150
    balance = await exchange.fetch_balance()
    assert balance.rows["USDT"].total == 0
    assert balance.rows["BTC"].total == 5
    assert len(await exchange.fetch_orders()) == 50
    assert await audit(exchange.redis, exchange.keys) == []


async def test_200_concurrent_resting_buys_reserve_exactly(exchange: Exchange) -> None:
    await exchange.push_price("BTC/USDT", "100")
    await exchange.deposit("USDT", Decimal("9.00675") * 50)  # 0.1 @ 90 + fee

    async def rest() -> bool:
        try:
            await exchange.create_order("BTC/USDT", "buy", "limit", "0.1", "90")
        except InsufficientFunds:
            return False
        return True

    assert sum(await asyncio.gather(*(rest() for _ in range(200)))) == 50
    row = await exchange.fetch_balance_row("USDT")
    assert (row.free, row.used) == (0, Decimal("450.3375"))
    assert await audit(exchange.redis, exchange.keys) == []
