"""What handlers get injected: the process's Exchange and EventHub (owned by the app's lifespan)."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from app.api.common.events import EventHub
from app.engine.exchange import Exchange

ExchangeDep = NamedDependency[Exchange]
HubDep = NamedDependency[EventHub]


def _exchange(state: State) -> Exchange:
    exchange: Exchange = state.exchange
    return exchange


def _hub(state: State) -> EventHub:
    hub: EventHub = state.hub
    return hub


DEPENDENCIES = {
    "exchange": Provide(_exchange, sync_to_thread=False),
    "hub": Provide(_hub, sync_to_thread=False),
}
