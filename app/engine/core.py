"""What every part of the engine shares: the store client, the keyspace, the scripts and the settings.

One :class:`Core` per :class:`app.engine.exchange.Exchange`; each part (markets, balances, orders,
settlement) is a :class:`Part` over it, so the parts stay small and none reaches into another's state.
"""

from __future__ import annotations

from decimal import Decimal

from redis.asyncio import Redis

from app.settings import Settings
from app.store.keys import Keys
from app.store.scripts import Scripts
from app.store.transport import Transport


class Core:
    """The connection and configuration of one exchange."""

    __slots__ = ("fee_rate", "keys", "redis", "scripts", "settings", "transport")

    def __init__(self, transport: Transport, settings: Settings) -> None:
        self.transport = transport
        self.redis: Redis = transport.redis
        self.settings = settings
        self.keys = Keys(settings.namespace)
        self.scripts = Scripts(transport, self.keys, events_maxlen=settings.events_maxlen)
        self.fee_rate: Decimal = settings.commission


class Part:
    """A responsibility of the engine, working on the shared :class:`Core`."""

    def __init__(self, core: Core) -> None:
        self.core = core

    @property
    def redis(self) -> Redis:
        return self.core.redis

    @property
    def transport(self) -> Transport:
        return self.core.transport

    @property
    def keys(self) -> Keys:
        return self.core.keys

    @property
    def scripts(self) -> Scripts:
        return self.core.scripts

    @property
    def settings(self) -> Settings:
        return self.core.settings
