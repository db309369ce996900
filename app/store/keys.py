"""The MockX keyspace: every key the service reads or writes, in one place.

All state of one exchange lives under a *namespace* ``ns`` (default ``mockx``, setting ``NAMESPACE``), split
into **shards** so that it can spread over the masters of a Valkey Cluster (setting ``SHARDS``, default 1).
Each shard is one hash tag: shard 0 is ``{ns}``, shard ``s`` > 0 is ``{ns:s}``. Every key of one Lua call
carries the same tag, so each script stays valid on a cluster, and scripts never build key names: the
wrappers in :mod:`app.store.scripts` pass every key in ``KEYS``.

**Accounts** are assigned to a shard when they are created (the ``default`` account is on shard 0) and
all their state lives there, in per-shard structures whose members or fields carry the account name
(``<acct>``: 1-64 of ``[A-Za-z0-9_.-]``, so ``:`` and ``|`` never occur in it). One resting book per symbol
and side per shard holds the orders of every account of the shard, so a tick finds the crossed orders of
all of them with one range read; a tick is applied to each shard with one settle call (per symbol run),
and costs grow with the number of shards, not of accounts.

**Market data** (markets, tickers, the 24 h buckets) and the **account registry** are held once, under
``{ns}`` — the tag of shard 0, so with one shard a tick is still one call. Every other shard keeps only
the copy of the ticker its own scripts need (``{ns:s}:ticker:<SYMBOL>``), written by the settle call
that applies the tick to that shard.

Money is stored as integer *minor units* (``10**-8`` of a unit, see :mod:`app.engine.money`) written as
decimal strings and moved with ``HINCRBY``. Prices are decimal strings. Records (orders, trades) are JSON
objects whose values are all strings, so neither Lua (doubles) nor any JSON library can round them.
Order and trade **ids** are integers unique across shards and never reused: ``shard × 2**46 + seq`` from
the shard's own counter (shard 0's ids are 1, 2, 3 ...; all stay below 2**53).

Per shard ``S`` (``{ns}`` or ``{ns:s}``), written by the account scripts and the shard's settle calls:

================================  ======  =======================================================  ===========
key                               type    contents                                                 lifetime
================================  ======  =======================================================  ===========
``S:balances``                    hash    ``<acct>:<ASSET>:free``, ``<acct>:<ASSET>:used`` minor    until reset
                                          units. ``used`` is exactly what the account's open
                                          orders reserve in that asset.
``S:assets``                      zset    lex, score 0: ``<acct>|<ASSET>`` for every balance row   until reset
                                          an account has (its balance is listed by a range read).
``S:ledger``                      hash    money that crossed the account boundary:                 until reset
                                          ``<acct>:<ASSET>:deposited`` / ``:withdrawn``.
``S:stats``                       hash    fill statistics ``<acct>:<SYMBOL>:<side>:count``,        until reset
                                          ``:maker``, ``:base``, ``:quote``, ``:fee`` (fees paid in
                                          the quote asset) and ``:basefee`` (paid in the base
                                          asset: ``FEE_ASSET=received``, a buy; only once non-0).
``S:orders``                      hash    order id -> order record (JSON with ``acct``). The two   trimmed
                                          legs of an OCO list name each other (``oco``) and the
                                          list (``ol``); one of them holds the list's one
                                          reservation (``shr`` "1" on the other, lib/oco.lua).
``S:order_ids``                   zset    lex: ``<acct>|<id, 16 digits>``, every order held (finds  trimmed
                                          the first held id >= a ``fromId``).
``S:order_index``                 zset    lex, the list indexes (see *History* below):              trimmed
                                          ``<acct>|<dim>|<ts, 13 digits>|<id, 16 digits>``.
``S:open``                        zset    lex: ``<acct>|<id, 16 digits>``, open orders only.       until reset
``S:cids``                        hash    ``<acct>|<clientOrderId>`` -> order id.                  trimmed
``S:book:<SYMBOL>:buy`` / ``sell`` zset   resting limit orders of every account of the shard,      until reset
                                          score = limit price, member = order id. A triggered
                                          market stop waits here (score: the price that triggered
                                          it) only within the settle call that fills it.
``S:trig:<SYMBOL>:up`` / ``down`` zset    stop-loss / take-profit orders not yet triggered, of      until reset
                                          every account of the shard, score = trigger price,
                                          member = order id. ``up``: triggers when the last
                                          price rises to or above the score (a buy stop-loss, a
                                          sell take-profit); ``down``: when it falls to or below
                                          it (a sell stop-loss, a buy take-profit). A tick at
                                          ``p`` reads ``up`` over ``[-inf, p]`` and ``down`` over
                                          ``[p, +inf]`` (``LIMIT``): crossing nothing costs two
                                          empty range reads. On trigger the order leaves it for
                                          the book in the same settle call.
``S:trades``                      hash    trade id -> trade record (JSON with ``acct``).           trimmed
``S:trade_ids``                   zset    lex: ``<acct>|<id, 16 digits>``, every trade held.       trimmed
``S:trade_index``                 zset    lex, the trade list indexes:                              trimmed
                                          ``<acct>|<dim>|<ts, 13 digits>|<id, 16 digits>``.
``S:seq:order`` / ``S:seq:trade`` string  the shard's last order / trade sequence number.          permanent
``S:events``                      stream  every change of the shard's accounts, each entry         until reset
                                          ``type`` + ``data`` (JSON with ``acct``), capped with
                                          ``MAXLEN ~`` (``EVENTS_MAXLEN``); also published on the
                                          Pub/Sub channel ``S:events``.
``S:ticker:<SYMBOL>``             hash    shard > 0: the copy of the ticker (``id``, ``last``,      permanent
                                          ``bid``, ``ask``, ``ts``) the shard's scripts check
                                          against. Shard 0's is the market ticker below.
================================  ======  =======================================================  ===========

**History** (orders and trades) is listed, paged and trimmed through lexicographic indexes, so that a
page costs O(log n + page) whatever the history size and whichever rows the filter matches. Each member is
``<acct>|<dim>|<ts>|<id>`` (``ts``: 13-digit ms, ``id``: 16-digit id, both zero-padded), so one
``ZRANGEBYLEX`` (or ``ZREVRANGEBYLEX``) between ``[<acct>|<dim>|<since>|`` and ``[<acct>|<dim>|<until>|~``
is a page in time order (ties by id). ``S:order_index`` dims, written by every script that creates an
order or changes its status (an order's ``ts`` is its creation time from the server clock, so per account
time order is id order):

=========================  ============================================================================
dim                        members
=========================  ============================================================================
``all``                    every order held
``st:<status>``            the orders of one status (``open``, ``closed``, ``canceled``, ``expired``,
                           ``rejected``); moved when the status changes
``sym:<SYMBOL>``           every order of one symbol
``sym:<SYMBOL>:<status>``  the orders of one symbol and status; moved when the status changes
``done``                   every order that is no longer open, with ``ts`` = the time it closed
                           (``uts``): oldest first, what retention trims
=========================  ============================================================================

``S:trade_index`` dims: ``all`` and ``sym:<SYMBOL>``, with ``ts`` the trade's time. A list's ``fromId``
is resolved to its position through the row's record (or, if it is gone, the first held id at or after it
in ``S:order_ids`` / ``S:trade_ids``; a ``toId``, the last at or before it). The members of a record are
derived by ``lib/history.lua`` (``order_index_members(o)``, ``trade_index_members(t)``), the one place the
scripts format them. **Retention**: the sweep trims, per account and in chunks of at most
``HISTORY_CHUNK`` rows per call, the orders of the ``done`` dim that closed before now −
``HISTORY_RETENTION`` or are beyond the newest ``HISTORY_MAX_ORDERS``, and likewise the trades (by trade
time, beyond the newest ``HISTORY_MAX_ORDERS`` trades); every index member, record and clientOrderId of a
trimmed row goes with it. Open orders are never trimmed; ``S:stats`` and ``S:ledger`` are never trimmed,
so statistics and PnL do not change.

Held once, under ``{ns}``:

================================  ======  =======================================================  ===========
key                               type    contents                                                 lifetime
================================  ======  =======================================================  ===========
``{ns}:accounts``                 hash    account name -> account record (JSON: name, API key,     until deleted
                                          secret, shard, created, commission, Ed25519 key). The
                                          ``default`` account's key and secret come from the
                                          settings and are not stored.
``{ns}:apikeys``                  hash    API key -> account name (rotating or deleting removes    until deleted
                                          the old key at once).
``{ns}:markets``                  hash    symbol -> market record (JSON): base, quote, price tick,  permanent
                                          amount step, limits. Written when declared or on the
                                          first price of a symbol. Survives reset.
``{ns}:ticker:<SYMBOL>``          hash    latest tick applied: ``id`` (price-stream entry id),      permanent
                                          ``last``, ``bid``, ``ask``, ``bidVolume``, ``askVolume``,
                                          ``volume``, ``ts`` (ms). Only a newer entry id
                                          overwrites it. Survives reset. Also the 24 h statistics,
                                          kept by the same settle call (see *Ticker statistics*):
                                          ``open``, ``high``, ``low`` and ``openHour`` (the hour
                                          of the bucket ``open`` comes from), all ``""`` when no
                                          bucket is in the window.
``{ns}:ohlc:<SYMBOL>``            hash    hourly buckets for the 24 h ticker statistics:            25 hours
                                          ``<hour>:o|oid|ots|h|l|c|cid``, each update idempotent (max,
                                          min, first by (ts, id) like the 1h candle's open (``ots``:
                                          its ts), last-by-id). A tick reads only its own
                                          hour's bucket; the whole hash is read when a new hour
                                          starts (to drop buckets older than 24 h) or the window
                                          moves. Never read by the API.
``{ns}:candles:<SYMBOL>``         hash    the OHLCV candles of the symbol at three stored         retention
                                          resolutions, one field per candle: ``1m:<i>``,           (``CANDLES_``
                                          ``1h:<i>``, ``1d:<i>`` (``i`` = ``ts // interval``, UTC)  ``1M`` / ``1H``
                                          -> ``o|oo|oid|h|l|c|co|cid|v|q|n`` (see *Candles*);      / ``1D``)
                                          ``1m:first`` / ``1h:first`` / ``1d:first``: the oldest
                                          ``i`` that may be held (where the trim starts). Written
                                          by the shard-0 settle call (one HMGET and one HSET per
                                          call) and by ``store_candles.lua`` (backfill).
``{ns}:candles:counted``          zset    price-stream entry ids whose ``qty`` the candles         see *Candles*
                                          counted: score = the entry id's ms while the entry may
                                          still be delivered, ``-<ack ms>`` once the group
                                          acknowledged it.
``{ns}:candles:events``           stream  ``candle.updated`` entries (``type`` + ``data``), at     capped
                                          most one per settle call and symbol, capped with
                                          ``MAXLEN ~`` (``EVENTS_MAXLEN``); no Pub/Sub. Kept out of
                                          ``{ns}:events``, which order events resume from.
``{ns}:heartbeat:<consumer>``     string  settlement worker liveness, JSON, with a TTL.            TTL
``{ns}:prices:dead``              stream  dead-lettered price entries with the reason (capped).    capped
``{ns}:prices:stats``             hash    counters of the settlement workers.                      permanent
``{ns}:prices:legacy``            hash    older price keys -> fingerprint of what was published.   permanent
``{ns}:prices:sweep``             string  name of the worker running this period's sweep.          TTL
================================  ======  =======================================================  ===========

**Ticker statistics.** ``<hour>`` is ``ts // 3 600 000``. The window of a ticker is the 24 hours that end
with the hour of its ``ts`` (``hour - 23`` … ``hour``); ``open`` is the first price (by entry id) of its
oldest bucket in the window, ``high`` / ``low`` the highest / lowest of its buckets there. The settle call
that changes a bucket or the ticker keeps them: a tick in an unchanged window only widens ``high`` /
``low`` and may move ``open``; when the window moves (the ticker's hour changes) or a bucket in it is
dropped, they are recomputed from the buckets. So a read is one hash per symbol, and exactly what the
buckets say; a symbol with no tick for a day keeps the statistics of the day before its last tick. A ticker
written before these fields existed has none of them until its next tick; a reader computes them from the
buckets meanwhile.

**Candles.** Every tick of shard 0's settle call (phase ``first`` of settle_tick, every tick of
settle_batch; never on shard > 0, whose calls run with market ``""``) goes into the three candles of its
``ts`` (publisher time, not arrival: a replayed or late tick updates an older candle). A candle value is
``o|oo|oid|h|l|c|co|cid|v|q|n``: open and close are the ticks first and last by the order key
(``ts``, entry id) — ``oo`` / ``co`` are their ``ts`` minus the candle's open time, ``oid`` / ``cid``
their entry ids; ``h`` / ``l`` the highest / lowest price; ``v`` = Σ ``qty`` of its prints (ticks with a
``qty``), ``q`` = Σ ``qty × price`` and ``n`` the number of prints, exact decimal strings summed in Lua
(``lib/candles.lua``). Price fields are idempotent and order-insensitive (max, min, first / last by order
key). A backfilled candle (``store_candles.lua``) has ``oo`` ``0``, ``co`` ``-1`` and both ids ``0-0``: it
comes before any live tick in it, so it keeps its open, a live tick takes the close, and the volumes add
up. A backfill writes only candles not held yet (then recomputes the 1h / 1d candles they fall in from
the finer ones held), so importing twice changes nothing.
Coarser intervals (``3m`` … ``1M``) are aggregated on read by :mod:`app.engine.candles` from the
finest stored resolution that divides them (1m for minutes, 1h for hours, 1d for days, weeks, months).

*Volume without double counting.* Σ qty and the count are not idempotent, so a print is counted at most
once per entry id: the settle call looks the run's print ids up in ``{ns}:candles:counted`` (one
``ZMSCORE``), counts only those absent (and only once within the call), and adds them (one ``ZADD``,
score = the entry's ms) in the same atomic call. A worker, in the pipeline of its ``XACK`` and after it,
rewrites the scores of the ids it acknowledged to ``-<now ms>`` (``ZADD XX``); the sweep removes ids
acknowledged over ``COUNTED_GRACE_MS`` (60 s) ago (a consumer that had claimed the entry before the ack may
still apply it meanwhile, and finds it recorded) and ids older than the first entry left in the price
stream (an entry trimmed away cannot be delivered again; this also clears what the in-process
``Exchange.apply_tick`` recorded, with no group, and what a crash between ``XACK`` and ``ZADD XX``
left). So a redelivered, reclaimed or re-applied entry never counts twice, and the set holds at most the
prints of the stream.

*Retention*: the sweep trims, per symbol and resolution, the fields from ``<res>:first`` up to now −
``CANDLES_1M`` / ``CANDLES_1H`` / ``CANDLES_1D`` in chunks (``trim_candles.lua``).
**Order book, trade tape and the market-data stream** (under ``{ns}``, written by shard 0's settle calls only;
a settle call on a shard > 0 runs in copy mode and never touches them; none is wiped by reset):

================================  ======  =======================================================  ===========
key                               type    contents                                                 lifetime
================================  ======  =======================================================  ===========
``{ns}:depth:<SYMBOL>``           hash    the last published book and the tape's state: ``u``      permanent
                                          (update id: +1 per published book), ``id`` (price-stream
                                          entry id of the tick that published it), ``ts`` (its
                                          time, ms), ``bids`` / ``asks`` (JSON
                                          ``[["price","qty"],...]``, best first, at most
                                          ``BOOK_LEVELS``, levels of qty 0 left out); ``pid``,
                                          ``pn``, ``pp``, ``ps``: entry id, trade id, price and
                                          taker side of the newest print on the tape.
``{ns}:market``                   stream  book diffs, one entry per settle call that published a   capped
                                          book: ``type`` ``book.diff``, ``data`` JSON ``{symbol,
                                          U, u, id, ts, bids, asks}`` (``U``..``u`` the update ids
                                          it covers; levels whose qty changed, ``"0"`` for a level
                                          gone). ``MAXLEN ~`` ``MARKET_MAXLEN``. Not the account
                                          events stream: order events resume from ``S:events``.
``{ns}:tape:<SYMBOL>``            list    public trades (ticks with ``qty``), oldest first, each   capped
                                          ``n|entry id|ts|price|qty|side`` (``n``: trade id, 1, 2,
                                          ... per symbol; the price-stream entry id; the taker
                                          side): one ``RPUSH`` of the call's prints and one
                                          ``LTRIM`` to the newest ``TAPE_MAXLEN``.
================================  ======  =======================================================  ===========

**Update ids.** A tick that carries ``bids`` or ``asks`` publishes a book (a side it does not carry is
empty). The stored book only moves forward by entry id, as the ticker does (the same ``ms-seq`` ordering as
``lib/ticker.lua``): a published book not newer than the stored one (a redelivery, or a tick overtaken by a
newer one) changes nothing and takes no update id. A settle call applying several newer books gives each its
own update id (``U`` = stored ``u`` + 1 … ``u`` = stored ``u`` + their number), writes only the newest, and
appends **one** diff from the stored book to it, as Binance's depth stream does (``U``/``u`` per event):
applied to a snapshot whose update id is ``U`` − 1, a diff gives exactly the book of update id ``u``. The
keys are passed in ``KEYS`` like every other (on a shard > 0 the settle call names keys of its own tag in
their place, which it never touches).

**Tape.** A tick with ``qty`` is a print: it joins the tape if its entry id is newer than the newest print's
(``pid``), so a redelivered tick never prints twice; a print older than the newest one (overtaken on another
worker) is left out, since the tape is in entry-id order. Taker side: with a spread (bid < ask), ``buy`` at
or above the ask, ``sell`` at or below the bid; otherwise the tick test against the previous print: higher
is ``buy``, lower ``sell``, the same price keeps the previous print's side (the first print is ``buy``).

The price stream itself (default ``<NAMESPACE>:prices``, so ``mockx:prices``; setting ``PRICE_STREAM``) is
a public contract for publishers and deliberately has no hash tag: no script touches it. Its entries are
applied to every shard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SIDES = ("buy", "sell")
DIRECTIONS = ("up", "down")  # the trigger indexes: up (price rises to the trigger), down (falls to it)


#: Ids are ``shard × ID_SPAN + seq``: each shard issues its own, unique across shards, below 2**53.
ID_SPAN = 2**46
MAX_SHARDS = 2**53 // ID_SPAN


def member(acct: str, id_: str | int) -> str:
    """The index member of an order or trade of ``acct``: lexicographic order is id order."""
    return f"{acct}|{int(id_):016d}"


def member_id(acct: str, value: str) -> str:
    """The id in an index member of ``acct`` (the inverse of :func:`member`)."""
    return str(int(value[len(acct) + 1 :]))


def account_range(acct: str) -> tuple[str, str]:
    """The ``ZRANGEBYLEX`` bounds of every member of ``acct`` (``~`` sorts after every digit)."""
    return f"[{acct}|", f"[{acct}|~"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names of one namespace and shard. Build once, reuse everywhere."""

    ns: str = "mockx"
    shard: int = 0
    tag: str = field(init=False)
    market_tag: str = field(init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.shard < MAX_SHARDS:
            raise ValueError(f"shard must be between 0 and {MAX_SHARDS - 1}, got {self.shard}")
        object.__setattr__(self, "market_tag", "{" + self.ns + "}")
        object.__setattr__(self, "tag", "{" + self.ns + ("}" if self.shard == 0 else f":{self.shard}}}"))

    @property
    def id_base(self) -> str:
        """What the shard's ids start from (``shard × 2**46``)."""
        return str(self.shard * ID_SPAN)

    # the account registry (held once) ----------------------------------------------------------
    @property
    def accounts(self) -> str:
        return f"{self.market_tag}:accounts"

    @property
    def api_keys(self) -> str:
        return f"{self.market_tag}:apikeys"

    # account state (per shard) -----------------------------------------------------------------
    @property
    def balances(self) -> str:
        return f"{self.tag}:balances"

    @property
    def assets(self) -> str:
        return f"{self.tag}:assets"

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
    def order_index(self) -> str:
        return f"{self.tag}:order_index"

    @property
    def open(self) -> str:
        return f"{self.tag}:open"

    @property
    def cids(self) -> str:
        return f"{self.tag}:cids"

    def book(self, symbol: str, side: str) -> str:
        return f"{self.tag}:book:{symbol}:{side}"

    def triggers(self, symbol: str, direction: str) -> str:
        """The orders of ``symbol`` waiting for their trigger, ``direction`` ``up`` or ``down``."""
        return f"{self.tag}:trig:{symbol}:{direction}"

    @property
    def trades(self) -> str:
        return f"{self.tag}:trades"

    @property
    def trade_ids(self) -> str:
        return f"{self.tag}:trade_ids"

    @property
    def trade_index(self) -> str:
        return f"{self.tag}:trade_index"

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
        return f"{self.market_tag}:markets"

    def ticker(self, symbol: str) -> str:
        return f"{self.tag}:ticker:{symbol}"

    def ohlc(self, symbol: str) -> str:
        return f"{self.market_tag}:ohlc:{symbol}"

    def candles(self, symbol: str) -> str:
        return f"{self.market_tag}:candles:{symbol}"

    @property
    def candles_counted(self) -> str:
        return f"{self.market_tag}:candles:counted"

    @property
    def candle_events(self) -> str:
        return f"{self.market_tag}:candles:events"

    def depth(self, symbol: str) -> str:
        """The last published book of ``symbol`` and its tape's state (market data: shard 0's tag)."""
        return f"{self.market_tag}:depth:{symbol}"

    def tape(self, symbol: str) -> str:
        """The public trades of ``symbol``."""
        return f"{self.market_tag}:tape:{symbol}"

    @property
    def market_stream(self) -> str:
        """The market-data stream the book diffs go to (not the account events stream)."""
        return f"{self.market_tag}:market"

    # settlement workers ----------------------------------------------------------------------------
    def heartbeat(self, consumer: str) -> str:
        return f"{self.market_tag}:heartbeat:{consumer}"

    @property
    def heartbeat_pattern(self) -> str:
        return f"{self.market_tag}:heartbeat:*"

    @property
    def dead_letters(self) -> str:
        return f"{self.market_tag}:prices:dead"

    @property
    def worker_stats(self) -> str:
        return f"{self.market_tag}:prices:stats"

    @property
    def legacy_prices(self) -> str:
        return f"{self.market_tag}:prices:legacy"

    @property
    def sweep_lease(self) -> str:
        return f"{self.market_tag}:prices:sweep"

    def account_keys(self, symbols: list[str]) -> list[str]:
        """Every key ``reset.lua`` wipes, the events stream first: account state and the books of ``symbols``."""
        fixed = [
            self.events,
            self.balances,
            self.assets,
            self.ledger,
            self.stats,
            self.orders,
            self.order_ids,
            self.order_index,
            self.open,
            self.cids,
            self.trades,
            self.trade_ids,
            self.trade_index,
        ]
        books = [self.book(s, side) for s in symbols for side in SIDES]
        return fixed + books + [self.triggers(s, d) for s in symbols for d in DIRECTIONS]
