"""What every part of the engine shares: the store client, the keyspace, the scripts and the settings.

One :class:`Core` per :class:`app.engine.exchange.Exchange`; each part (markets, balances, orders,
settlement) is a :class:`Part` over it, so the parts stay small and none reaches into another's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from redis.asyncio import Redis

from app.engine.models import FeeSchedule
from app.settings import Settings
from app.store.keys import Keys
from app.store.scripts import Scripts
from app.store.transport import Call, Transport

T = TypeVar("T")


class Core:
    """The connection and configuration of one exchange, and the keys and scripts of each of its shards.

    ``keys`` / ``scripts`` are shard 0's, whose tag also holds the market data and the account registry.
    """

    __slots__ = ("fees", "keys", "redis", "scripts", "settings", "shard_keys", "shard_scripts", "transport")

    def __init__(self, transport: Transport, settings: Settings) -> None:
        self.transport = transport
        self.redis: Redis = transport.redis
        self.settings = settings
        shards = range(settings.shards)
        self.shard_keys = [Keys(settings.namespace, s) for s in shards]
        self.shard_scripts = [
            Scripts(
                transport,
                k,
                events_maxlen=settings.events_maxlen,
                tape_maxlen=settings.tape_maxlen,
                market_maxlen=settings.market_maxlen,
            )
            for k in self.shard_keys
        ]
        self.keys, self.scripts = self.shard_keys[0], self.shard_scripts[0]
        maker, taker, rate = settings.maker_fee, settings.taker_fee, settings.commission
        self.fees = FeeSchedule(
            maker=rate if maker is None else maker, taker=rate if taker is None else taker, asset=settings.fee_asset
        )


class Part:
    """A responsibility of the engine, working on the shared :class:`Core` (on one shard's keys)."""

    def __init__(self, core: Core, shard: int = 0) -> None:
        self.core = core
        self.shard = shard

    @property
    def redis(self) -> Redis:
        return self.core.redis

    @property
    def transport(self) -> Transport:
        return self.core.transport

    @property
    def keys(self) -> Keys:
        return self.core.shard_keys[self.shard]

    @property
    def scripts(self) -> Scripts:
        return self.core.shard_scripts[self.shard]

    @property
    def settings(self) -> Settings:
        return self.core.settings

    async def in_rounds(
        self, items: list[T], call: Callable[[T], Call], take: Callable[[T, Any], bool], rounds: int
    ) -> list[T]:
        """Chunked work: one pipelined call per item, then again for the items whose reply ``take`` says has
        more to do, at most ``rounds`` times; returns the items left with more (a reply that is an error
        raises)."""
        for _ in range(rounds):
            if not items:
                break
            left = []
            for item, reply in zip(items, await self.transport.execute([call(i) for i in items]), strict=True):
                if isinstance(reply, Exception):
                    raise reply
                if take(item, reply):
                    left.append(item)
            items = left
        return items
