"""What handlers get injected: the caller's Exchange view, the shared Exchange, the caller and the event hubs.

``exchange`` is the Exchange acting on the account whose key the request carries (see
:mod:`app.api.common.auth`); the admin may pass ``account=<name>`` to act on another account. ``shared`` is
the process's Exchange itself (the ``default`` account's view): for what belongs to the exchange, not to an
account (the account registry, the events stream). Both are owned by the app's lifespan.
"""

from __future__ import annotations

from typing import Annotated

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException
from litestar.params import QueryParameter
from litestar.types import Scope

from app.api.common.auth import Caller, caller_of
from app.api.common.hub import EventHub
from app.engine.events import Envelope
from app.engine.exchange import Exchange
from app.engine.market_events import MarketEnvelope

ExchangeDep = NamedDependency[Exchange]
SharedDep = NamedDependency[Exchange]
CallerDep = NamedDependency[Caller]
HubDep = NamedDependency[EventHub[Envelope]]
MarketHubDep = NamedDependency[EventHub[MarketEnvelope]]

ACCOUNT_DOC = "Admin key only: act on this account instead of the default one"
AccountQuery = Annotated[str | None, QueryParameter(description=ACCOUNT_DOC, min_length=1, max_length=64)]


def on_behalf(caller: Caller, account: str | None) -> None:
    """Refuse (403) ``account=<name>`` from a key other than the admin's, unless it names the caller's own."""
    if account is not None and not caller.admin and account != caller.account.name:
        raise PermissionDeniedException("only the admin key may pass account=<name>: an account key acts on its own")


def _shared(state: State) -> Exchange:
    exchange: Exchange = state.exchange
    return exchange


def _caller(scope: Scope) -> Caller:
    return caller_of(scope)


async def _exchange(state: State, caller: CallerDep, account: AccountQuery = None) -> Exchange:
    on_behalf(caller, account)
    shared = _shared(state)
    if account is None or account == caller.account.name:
        return shared.as_account(caller.account)
    return await shared.for_account(account)


def _hub(state: State) -> EventHub[Envelope]:
    hub: EventHub[Envelope] = state.hub
    return hub


def _market_hub(state: State) -> EventHub[MarketEnvelope]:
    hub: EventHub[MarketEnvelope] = state.market_hub
    return hub


DEPENDENCIES = {
    "exchange": Provide(_exchange),
    "shared": Provide(_shared, sync_to_thread=False),
    "caller": Provide(_caller, sync_to_thread=False),
    "hub": Provide(_hub, sync_to_thread=False),
    "market_hub": Provide(_market_hub, sync_to_thread=False),
}
