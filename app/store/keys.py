"""The MockX keyspace: every key the service reads or writes, in one place.

All state of one exchange lives under a *namespace* ``ns`` (default ``mockx``, setting ``NAMESPACE``).
Every key of the namespace carries the hash tag ``{ns}``, so all of them land on one slot and every Lua
script stays valid on Valkey Cluster. Scripts never build key names: the wrappers in :mod:`app.store.scripts`
pass every key in ``KEYS``.

Money is stored as integer *minor units* (``10**-8`` of a unit, see :mod:`app.engine.money`) written as decimal
strings and moved with ``HINCRBY``. Prices are decimal strings. Records (orders, trades) are JSON objects
whose values are all strings, so neither Lua (doubles) nor any JSON library can round them.

==============================  ======  =========================================================  ==========
key                             type    contents                                                   lifetime
==============================  ======  =========================================================  ==========
``{ns}:balances``               hash    ``<ASSET>:free``, ``<ASSET>:used`` minor units. ``used``   until reset
                                        is exactly what open orders reserve in that asset.
``{ns}:ledger``                 hash    money that crossed the account boundary, per asset:        until reset
                                        ``<ASSET>:deposited``, ``<ASSET>:withdrawn`` (minor units;
                                        admin balance overwrites count as deposits/withdrawals).
``{ns}:stats``                  hash    fill statistics: ``<SYMBOL>:<side>:count``, ``:base``,     until reset
                                        ``:quote``, ``:fee`` (minor units), ``:maker`` (count).
``{ns}:orders``                 hash    order id -> order record (JSON, see ``app.store.records``).       until reset
``{ns}:order_ids``              zset    every order id, score = id.                                 until reset
``{ns}:open``                   zset    ids of open orders only, score = id.                        until reset
``{ns}:cids``                   hash    clientOrderId -> order id (unique per account).             until reset
``{ns}:book:<SYMBOL>:buy``      zset    resting buy limit orders of a symbol, score = limit price,  until reset
``{ns}:book:<SYMBOL>:sell``     zset    member = order id. Holds open orders only; a tick finds      until reset
                                        the crossed ones with ``ZRANGEBYSCORE ... LIMIT``.
``{ns}:trades``                 hash    trade id -> trade record (JSON).                            until reset
``{ns}:trade_ids``              zset    every trade id, score = id.                                 until reset
``{ns}:seq:order``              string  last order id issued (``INCR``). Survives reset: an id is   permanent
                                        never issued twice (bots cache ids).
``{ns}:seq:trade``              string  last trade id issued (``INCR``). Survives reset.            permanent
``{ns}:events``                 stream  every state change, capped with ``MAXLEN ~`` (setting       until reset
                                        ``EVENTS_MAXLEN``); the entry id is the event id. Each
                                        entry: ``type`` and ``data`` (JSON). Also published on the
                                        Pub/Sub channel ``{ns}:events``.
``{ns}:markets``                hash    symbol -> market record (JSON): base, quote, price tick,    permanent
                                        amount step, limits. Written when declared or on the first
                                        price of a symbol. Survives reset.
``{ns}:ticker:<SYMBOL>``        hash    latest tick applied: ``id`` (price-stream entry id),        permanent
                                        ``last``, ``bid``, ``ask``, ``bidVolume``, ``askVolume``,
                                        ``volume`` (24 h base volume if the source sends it),
                                        ``ts`` (ms). Only a newer entry id overwrites it. Survives
                                        reset (prices are market data, not account state).
``{ns}:ohlc:<SYMBOL>``          hash    hourly buckets for the 24 h ticker statistics:              25 hours
                                        ``<hour>:o|oid|h|l|c|cid``. Every update is idempotent
                                        (max, min, first-by-id, last-by-id); buckets older than
                                        25 h are deleted when a new hour starts.
``{ns}:heartbeat:<consumer>``   string  settlement worker liveness, JSON, with a TTL.               TTL
``{ns}:prices:dead``            stream  dead-lettered price entries with the reason (capped).       capped
``{ns}:prices:stats``           hash    counters of the settlement workers (``processed``,          permanent
                                        ``filled``, ``claimed``, ``dead``, ``dead:malformed``,
                                        ``dead:deliveries``).
``{ns}:prices:legacy``          hash    older price keys (``tickers:<SYMBOL>``, ``sym_<SYMBOL>``)   permanent
                                        -> fingerprint of the values last published from them.
``{ns}:prices:sweep``           string  name of the worker running this period's sweep.             TTL
==============================  ======  =========================================================  ==========

The price stream itself (default ``mockx:prices``, setting ``PRICE_STREAM``) is a public contract for
publishers and deliberately has no hash tag: no script touches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SIDES = ("buy", "sell")


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names of one namespace. Build once, reuse everywhere."""

    ns: str = "mockx"
    tag: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", "{" + self.ns + "}")

    # account state -------------------------------------------------------------------------------
    @property
    def balances(self) -> str:
        return f"{self.tag}:balances"

    @property
    def ledger(self) -> str:
        return f"{self.tag}:ledger"

    @property
    def stats(self) -> str:
        return f"{self.tag}:stats"

    @property
    def orders(self) -> str:
        return f"{self.tag}:orders"

    @property
    def order_ids(self) -> str:
        return f"{self.tag}:order_ids"

    @property
    def open(self) -> str:
        return f"{self.tag}:open"

    @property
    def cids(self) -> str:
        return f"{self.tag}:cids"

    def book(self, symbol: str, side: str) -> str:
        return f"{self.tag}:book:{symbol}:{side}"

    @property
    def trades(self) -> str:
        return f"{self.tag}:trades"

    @property
    def trade_ids(self) -> str:
        return f"{self.tag}:trade_ids"

    @property
    def order_seq(self) -> str:
        return f"{self.tag}:seq:order"

    @property
    def trade_seq(self) -> str:
        return f"{self.tag}:seq:trade"

    # events ----------------------------------------------------------------------------------------
    @property
    def events(self) -> str:
        return f"{self.tag}:events"

    @property
    def channel(self) -> str:
        """Pub/Sub channel carrying every event (not a key; named like one for clarity)."""
        return f"{self.tag}:events"

    # market data -----------------------------------------------------------------------------------
    @property
    def markets(self) -> str:
        return f"{self.tag}:markets"

    def ticker(self, symbol: str) -> str:
        return f"{self.tag}:ticker:{symbol}"

    def ohlc(self, symbol: str) -> str:
        return f"{self.tag}:ohlc:{symbol}"

    # settlement workers ----------------------------------------------------------------------------
    def heartbeat(self, consumer: str) -> str:
        return f"{self.tag}:heartbeat:{consumer}"

    @property
    def heartbeat_pattern(self) -> str:
        return f"{self.tag}:heartbeat:*"

    @property
    def dead_letters(self) -> str:
        return f"{self.tag}:prices:dead"

    @property
    def worker_stats(self) -> str:
        return f"{self.tag}:prices:stats"

    @property
    def legacy_prices(self) -> str:
        return f"{self.tag}:prices:legacy"

    @property
    def sweep_lease(self) -> str:
        return f"{self.tag}:prices:sweep"

    def account_keys(self, symbols: list[str]) -> list[str]:
        """Every key ``reset.lua`` wipes, the events stream first: account state and the books of ``symbols``."""
        fixed = [
            self.events,
            self.balances,
            self.ledger,
            self.stats,
            self.orders,
            self.order_ids,
            self.open,
            self.cids,
            self.trades,
            self.trade_ids,
        ]
        return fixed + [self.book(s, side) for s in symbols for side in SIDES]
