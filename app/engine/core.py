"""What every part of the engine shares: the store client, the keyspace, the scripts and the settings.

One :class:`Core` per :class:`app.engine.exchange.Exchange`; each part (markets, balances, orders,
settlement) is a :class:`Part` over it, so the parts stay small and none reaches into another's state.
"""

from __future__ import annotations

from decimal import Decimal

from redis.asyncio import Redis

from app.settings import Settings
from app.store.keys import Keys
from app.store.multiplex import Link
from app.store.scripts import Scripts


class Core:
    """The connection and configuration of one exchange. ``link`` is set once the hot path multiplexes."""

    __slots__ = ("fee_rate", "keys", "link", "redis", "scripts", "settings")

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.keys = Keys(settings.namespace)
        self.scripts = Scripts(redis, self.keys, events_maxlen=settings.events_maxlen)
        self.fee_rate: Decimal = settings.commission
        self.link: Link | None = None


class Part:
    """A responsibility of the engine, working on the shared :class:`Core`."""

    def __init__(self, core: Core) -> None:
        self.core = core

    @property
    def redis(self) -> Redis:
        return self.core.redis

    @property
    def keys(self) -> Keys:
        return self.core.keys

    @property
    def scripts(self) -> Scripts:
        return self.core.scripts

    @property
    def settings(self) -> Settings:
        return self.core.settings
