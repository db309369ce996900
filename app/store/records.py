"""The records Valkey stores as JSON (``{ns}:orders``, ``{ns}:trades``, ``{ns}:markets``).

Every value is a string: money in integer minor units, prices as canonical decimals, times in ms. The Lua
scripts read and write the same field names; :mod:`app.engine.models` turns records into ccxt structures.
"""

from __future__ import annotations

import msgspec


class OrderRecord(msgspec.Struct, forbid_unknown_fields=False):
    """An order as stored. Fields written by the scripts are marked (lua)."""

    sym: str
    base: str
    quote: str
    side: str  # buy | sell
    type: str  # market | limit
    tif: str  # GTC | IOC | FOK | PO
    amt: str  # ordered amount, base minor units
    rate: str  # fee rate, decimal
    fcur: str  # fee currency (the quote asset)
    px: str = ""  # limit price, "" for a market order
    cid: str = ""  # clientOrderId, "" when none
    acct: str = "default"  # the account that placed it
    id: str = ""  # (lua) order id: the shard's id base + its order sequence
    st: str = ""  # (lua) open | closed | canceled | expired
    ts: str = ""  # (lua) created, ms (server clock)
    tus: str = ""  # (lua) created, µs (server clock): a stale tick only fills older orders
    uts: str = ""  # (lua) last update, ms
    filled: str = "0"  # base minor units filled
    cost: str = "0"  # quote minor units, price x filled
    fee: str = "0"  # quote minor units
    fpx: str = ""  # fill price
    tts: str = ""  # (lua) last trade time, ms
    tid: str = ""  # (lua) trade id of the fill
    role: str = ""  # (lua) taker | maker
    ra: str = ""  # asset reserved while resting
    res: str = "0"  # minor units still reserved (0 unless open)
    ca: str = ""  # asset credited by the maker fill
    cr: str = "0"  # minor units credited by the maker fill
    mc: str = "0"  # maker fill cost (quote minor units) at the limit price
    mf: str = "0"  # maker fill fee (minor units of fcur)
    qq: str = ""  # a market order by quote amount: the quote asked to spend (minor units), "" otherwise
    tk: str = ""  # a stop order: sl (stop-loss) | tp (take-profit); "" for none
    tpx: str = ""  # its trigger price; a market stop fills at it (mc / mf are priced there)
    tdir: str = ""  # its trigger index: up | down (S:trig:<SYMBOL>:<tdir>)
    trg: str = ""  # (lua) when it triggered, ms; "" while it waits
    ol: str = ""  # (lua) an OCO leg: the order list's id (its limit leg's id)
    oco: str = ""  # (lua) an OCO leg: its sibling's id
    shr: str = ""  # (lua) an OCO leg whose res its sibling's reservation covers: "1" (not counted in used)


class TradeRecord(msgspec.Struct, forbid_unknown_fields=False):
    """A fill as stored (written by ``lib/fills.lua``)."""

    id: str
    oid: str
    sym: str
    side: str
    type: str
    px: str
    amt: str  # base minor units
    cost: str  # quote minor units
    fee: str  # minor units of fcur
    fcur: str
    rate: str
    ts: str
    role: str  # taker | maker
    acct: str = "default"


class MarketRecord(msgspec.Struct, forbid_unknown_fields=False):
    """A market of the registry: what may be traded and with which precision and limits."""

    sym: str
    base: str
    quote: str
    tick: str  # price tick size
    step: str  # amount step size
    min_amt: str  # smallest amount
    min_cost: str  # smallest notional (price x amount), "0" for none
    source: str = "auto"  # auto (first price) | declared (MARKETS / MARKETS_FILE)


order_decoder = msgspec.json.Decoder(OrderRecord)
trade_decoder = msgspec.json.Decoder(TradeRecord)
market_decoder = msgspec.json.Decoder(MarketRecord)
record_encoder = msgspec.json.Encoder()


# Event payloads: the ``data`` field of an entry of ``{ns}:events``, as the scripts write it
# (``app/store/lua/lib/events.lua``). :mod:`app.engine.events` turns them into domain events.


class OrderEventRecord(msgspec.Struct):
    order: OrderRecord
    trade: TradeRecord | None = None


class BalanceRowRecord(msgspec.Struct):
    free: str = "0"
    used: str = "0"


class FlowRecord(msgspec.Struct):
    asset: str
    delta: str  # signed minor units
    kind: str  # deposit | withdrawal


class BalanceEventRecord(msgspec.Struct):
    assets: dict[str, BalanceRowRecord]
    acct: str = "default"
    flow: FlowRecord | None = None


class ResetEventRecord(msgspec.Struct):
    acct: str = ""  # "" when every account of the shard was wiped


class TickerEventRecord(msgspec.Struct):
    """The ticker as a settle call left it (values as stored; a field never sent is absent)."""

    symbol: str
    last: str
    id: str = ""
    ts: str = ""
    bid: str = ""
    ask: str = ""
    volume: str = ""
    bidVolume: str = ""
    askVolume: str = ""


class MarketEventRecord(msgspec.Struct):
    market: MarketRecord
