--[[ settle_tick: apply one price tick of one symbol: update the ticker, then fill the resting limit
orders the price crosses, in bounded chunks.

A tick at price p fills every resting buy with limit >= p and every sell with limit <= p, each at its own
limit price (maker), consuming exactly the reservation made when it was placed. One call fills at most
`chunk` orders; the caller repeats with the returned offsets and phase until `done`, so no single call
blocks the server for long.

Applying a tick is idempotent and order-insensitive, which gives exactly-once effects with any number of
workers and redeliveries:
  * the ticker only moves forward: it takes the tick only if its entry id is newer than the one shown;
  * the hourly 24 h buckets keep max / min / first-by-id / last-by-id, which a repeat cannot change, and
    the ticker's 24 h statistics (open, high, low) are what the buckets say (see lib/ticker.lua);
  * an order fills at most once (only an open order fills);
  * a tick that is not newer than the ticker (a redelivery, or a tick overtaken by a later one on another
    worker) only fills orders placed before the tick was published (created before its entry id time),
    so a stale tick never fills an order placed after it.

Every account of the shard trades on the same book: one call settles all their crossed orders.

KEYS[1]  ticker        S:ticker:<SYMBOL> (S: the shard's tag; shard 0 is {ns}, which holds market data)
KEYS[2]  ohlc          S:ohlc:<SYMBOL>
KEYS[3]  book buy      S:book:<SYMBOL>:buy
KEYS[4]  book sell     S:book:<SYMBOL>:sell
KEYS[5]  orders        S:orders
KEYS[6]  open          S:open
KEYS[7]  balances      S:balances
KEYS[8]  stats         S:stats
KEYS[9]  trades        S:trades
KEYS[10] trade_ids     S:trade_ids
KEYS[11] trade_seq     S:seq:trade
KEYS[12] events        S:events
KEYS[13] markets       S:markets
KEYS[14] assets        S:assets
KEYS[15] order_index   S:order_index
KEYS[16] trade_index   S:trade_index
-- candles (shard 0 only; a shard > 0 names its own tag's keys, never touched: market is "")
KEYS[17] candles       {ns}:candles:<SYMBOL>
KEYS[18] counted       {ns}:candles:counted
KEYS[19] candle events {ns}:candles:events
-- end candles
KEYS[20] trig up       S:trig:<SYMBOL>:up (stop orders that trigger when the price rises to them)
KEYS[21] trig down     S:trig:<SYMBOL>:down (... when it falls to them)
-- order book and trade tape, the last three keys, n = #KEYS (shard > 0: keys of its own tag, never touched):
KEYS[n-2] depth        {ns}:depth:<SYMBOL>
KEYS[n-1] market       {ns}:market
KEYS[n]  tape          {ns}:tape:<SYMBOL>

ARGV[1]  symbol
ARGV[2]  entry id      price-stream entry id "ms-seq"
ARGV[3]  price         decimal string, > 0
ARGV[4]  bid           decimal string
ARGV[5]  ask           decimal string
ARGV[6]  ts            tick time, ms (trades of this tick carry it)
ARGV[7]  volume        24 h base volume reported by the source, or ""
ARGV[8]  bid qty       or ""
ARGV[9]  ask qty       or ""
ARGV[10] qty           quantity traded at price by this tick (a trade print), or "" (a quote only)
ARGV[11] bids          the published book's bids, JSON [["price","qty"],...] best first, or ""
ARGV[12] asks          the published book's asks, likewise, or ""
ARGV[13] phase         "first": update the ticker and decide the mode; "n" / "l": continue in normal /
                       late mode; "sweep": fill at this price in normal mode, leave the ticker alone
ARGV[14] buy offset    crossed buys to skip (late mode: orders placed after the tick)
ARGV[15] sell offset   crossed sells to skip
ARGV[16] chunk         most orders to examine in this call
ARGV[17] channel       Pub/Sub channel for events
ARGV[18] maxlen        events stream MAXLEN ~
ARGV[19] market        market record (JSON) registered if the symbol has none yet; "" on a shard other
                       than shard 0, which keeps only a copy of the ticker (no market data, no ticker events)
ARGV[20] id base       the shard's id base (trade ids are base + the shard's trade sequence)
ARGV[21] tape maxlen   the tape's MAXLEN ~
ARGV[22] market maxlen the market stream's MAXLEN ~

Triggers: before its fills, a tick newer than the ticker (phase "first" in normal mode, "n", "sweep")
triggers the stop orders it reaches (lib/triggers.lua), within the same `chunk`: a triggered limit stop
rests (and fills in this call if the tick crosses its limit), a triggered market stop fills in this call.
Until every reached trigger is done the call fills nothing and returns done == 0.

Returns {code, filled, buy offset, sell offset, done, mode, examined}:
  0  OK        `filled` orders filled; call again with the offsets and `mode` as phase unless done == 1.
               `examined` is how many resting and stop orders this call looked at (0 when the tick
               crosses nothing and reaches no trigger).

Candles: phase "first" puts the tick into its 1m, 1h and 1d candles and counts its qty once per entry id
(lib/candles.lua); candle.updated goes to the candle events stream (KEYS[19]), not to S:events.
Phase "first" also keeps the published book (a tick with bids / asks newer than the stored book: a new
update id and one book.diff entry on the market stream) and the tape (a tick with qty newer than the
newest print), see lib/book.lua.

Events: market.created (first price of a symbol), ticker.updated (when the ticker or its 24 h buckets
changed), order.triggered per stop order triggered, order.filled per fill (with its trade), order.expired
(a fill that would overflow a balance, a triggered stop its time in force does not let rest),
balance.changed once per call and account with fills.

Indexes: each filled (or expired) order moves from open to its new status in S:order_index and joins its
done dim; each trade joins S:trade_index (all, sym:<SYMBOL>), written in slices (lib/history.lua).
]]

--@include lib/uint.lua
--@include lib/account.lua
--@include lib/events.lua
--@include lib/ticker.lua
--@include lib/candles.lua
--@include lib/fills.lua
--@include lib/history.lua
--@include lib/oco.lua
--@include lib/settle.lua
--@include lib/triggers.lua
--@include lib/book.lua

local k = {
  ticker = KEYS[1], ohlc = KEYS[2], book_buy = KEYS[3], book_sell = KEYS[4], orders = KEYS[5], open = KEYS[6],
  balances = KEYS[7], stats = KEYS[8], trades = KEYS[9], trade_ids = KEYS[10], trade_seq = KEYS[11],
  events = KEYS[12], markets = KEYS[13], assets = KEYS[14], order_index = KEYS[15], trade_index = KEYS[16],
  -- candles (KEYS[17..19])
  candles = KEYS[17], counted = KEYS[18], candle_events = KEYS[19],
  -- end candles
  trig_up = KEYS[20], trig_down = KEYS[21],
}
-- order book and trade tape: the last keys (lib/book.lua)
k.depth, k.market_stream, k.tape = KEYS[#KEYS - 2], KEYS[#KEYS - 1], KEYS[#KEYS]
local sym, phase = ARGV[1], ARGV[13]
local buy_off, sell_off, chunk = tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])
local channel, maxlen, market = ARGV[17], ARGV[18], ARGV[19]
local tick = tick_at(2)

local mode = phase
if phase == 'first' then
  local shown = ticker_open(k, sym, market, channel, maxlen)
  mode = ticker_add(shown, tick) and 'n' or 'l'
  ticker_flush(shown)
  local cs = candles_open(k, market)
  candles_add(cs, tick)
  candles_flush(cs, sym, maxlen)
  local bk = book_open(k, market, ARGV[21], ARGV[22])
  book_add(bk, tick)
  book_flush(bk, sym)
elseif phase == 'sweep' then
  mode = 'n'
end

local s = settlement_open(k, sym, channel, maxlen, ARGV[20])
local done = true
if mode == 'n' then done, chunk = settle_triggers(s, tick, chunk) end
if done and chunk > 0 then
  buy_off, sell_off, done = settle_tick_fills(s, tick, mode, buy_off, sell_off, chunk)
else
  done = false
end
settlement_finish(s)
return {0, s.filled, buy_off, sell_off, done and 1 or 0, mode, s.examined}
