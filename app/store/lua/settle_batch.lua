--[[ settle_batch: apply a run of price ticks of one symbol in one call, with the effect of applying them
one by one with settle_tick, in the order given.

Most ticks fill nothing, and for those settle_tick's work is the ticker, its 24 h statistics and its
hourly buckets; a run reads and writes those once. The best resting buy and sell are read once (and again after each tick that
fills), so a tick at price p strictly between them is known to cross nothing without looking further. A
tick that may cross is settled exactly as settle_tick would (see lib/settle.lua): in normal mode when it
is newer than the ticker, in late mode when it is not.

At most `chunk` resting orders are examined per call, so no call blocks the server for long. When the
budget runs out the call stops: `applied` ticks are done; when `done` is 0 the next tick is under way
(its ticker part is applied) and the caller finishes it with settle_tick from `mode` and the offsets,
then sends the ticks after it in another settle_batch call. When `done` is 1 the caller sends the ticks
from `applied + 1` on, if any.

The published book and the tape are kept as settle_tick keeps them (lib/book.lua), written once per
call: the newest book of the run, each newer book an update id of its own, one book.diff entry for all.

Events differ from settle_tick's only in number: ticker.updated once before the fills of each tick that
fills and once at the end (the ticker as it stands then), not once per tick; balance.changed once per call
and account. The history indexes change as with settle_tick.

KEYS     as settle_tick: ticker, ohlc, book buy, book sell, orders, open, balances, stats, trades,
         trade_ids, trade_seq, events, markets, assets, order_index, trade_index, candles, counted,
         candle events, trig up, trig down, and last depth, market, tape

Triggers: a tick newer than the ticker that reaches a trigger (the lowest up and the highest down trigger
are read once, and again after each tick that triggers) triggers before its fills, as with settle_tick
(lib/triggers.lua).

Candles: every tick applied (and the tick under way) goes into its candles, written once at the end of
the call (lib/candles.lua): one candle.updated per call on the candle events stream.

ARGV[1]  symbol
ARGV[2]  channel       Pub/Sub channel for events
ARGV[3]  maxlen        events stream MAXLEN ~
ARGV[4]  market        market record (JSON) registered if the symbol has none yet; "" on a shard other
                       than shard 0, which keeps only a copy of the ticker (no market data, no ticker events)
ARGV[5]  chunk         most orders to examine in this call
ARGV[6]  id base       the shard's id base (trade ids are base + the shard's trade sequence)
ARGV[7]  tape maxlen    the tape's MAXLEN ~
ARGV[8]  market maxlen  the market stream's MAXLEN ~
ARGV[9…] ticks         11 values each, in stream order: entry id, price, bid, ask, ts, volume, bid qty,
                       ask qty, qty, bids, asks (as for settle_tick; "" for a missing one)

Returns {code, applied, filled, examined, done, mode, buy offset, sell offset}:
  0  OK        see above; `filled` and `examined` count this call's orders.
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
local sym, channel, maxlen, market, budget = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local id_base = ARGV[6]

-- The highest resting buy and the lowest resting sell (scores are the doubles of <= 15-digit prices,
-- which compare exactly); a stale book entry only makes a tick look crossing, never the reverse.
local function best()
  local buy = redis.call('ZRANGE', k.book_buy, -1, -1, 'WITHSCORES')[2]
  local sell = redis.call('ZRANGE', k.book_sell, 0, 0, 'WITHSCORES')[2]
  return buy and tonumber(buy) or -math.huge, sell and tonumber(sell) or math.huge
end

-- The lowest up trigger and the highest down trigger: a tick strictly between them triggers nothing.
local function nearest_triggers()
  local up = redis.call('ZRANGE', k.trig_up, 0, 0, 'WITHSCORES')[2]
  local down = redis.call('ZRANGE', k.trig_down, -1, -1, 'WITHSCORES')[2]
  return up and tonumber(up) or math.huge, down and tonumber(down) or -math.huge
end

local shown = ticker_open(k, sym, market, channel, maxlen)
local cs = candles_open(k, market)
local bk = book_open(k, market, ARGV[7], ARGV[8])
local s = settlement_open(k, sym, channel, maxlen, id_base)
local best_buy, best_sell = best()
local up_min, down_max = nearest_triggers()
local applied, done, mode, buy_off, sell_off = 0, 1, '', 0, 0

for i = 9, #ARGV, TICK_VALUES do
  local tick = tick_at(i)
  local crosses = tick.p <= best_buy or tick.p >= best_sell or tick.p >= up_min or tick.p <= down_max
  if crosses and budget == 0 then break end  -- the next call settles it
  local newer = ticker_add(shown, tick)
  candles_add(cs, tick)
  book_add(bk, tick)
  if crosses then
    ticker_flush(shown)  -- the ticker shows this tick before its fills, as with settle_tick
    mode = newer and 'n' or 'l'
    local tick_done = true
    if mode == 'n' and (tick.p >= up_min or tick.p <= down_max) then
      tick_done, budget = settle_triggers(s, tick, budget)
      up_min, down_max = nearest_triggers()
    end
    if tick_done and budget > 0 then
      buy_off, sell_off, tick_done, budget = settle_tick_fills(s, tick, mode, 0, 0, budget)
    else
      tick_done = false
    end
    if not tick_done then
      done = 0
      break
    end
    best_buy, best_sell = best()
  end
  applied = applied + 1
end

settlement_finish(s)
ticker_flush(shown)
candles_flush(cs, sym, maxlen)
book_flush(bk, sym)
return {0, applied, s.filled, s.examined, done, mode, buy_off, sell_off}
