--[[ settle_batch: apply a run of price ticks of one symbol that cross no resting order, in one call.

Most ticks fill nothing. For those, settle_tick's work is the ticker and its hourly buckets, and doing
that once per run instead of once per tick is what lets one worker keep up with a fast feed. The run is
given in stream order; this script applies its longest prefix of ticks that provably cross nothing and
says how long that prefix was. The caller settles the remaining ticks one by one with settle_tick, so a
tick that may fill an order always gets settle_tick's exact treatment.

A tick at price p crosses nothing when p is above the best resting buy and below the best resting sell
(the books hold scores that are the doubles of ≤ 15-digit prices, which compare exactly). The best prices
are read once; a stale book entry only makes the prefix shorter, never wrong.

Applying the prefix has the effect of applying its ticks one by one with settle_tick, which is
idempotent and order-insensitive (see lib/ticker.lua), with one difference: ticker.updated is emitted
once per call, with the ticker as it stands after the run, instead of once per tick.

KEYS[1]  ticker        {ns}:ticker:<SYMBOL>
KEYS[2]  ohlc          {ns}:ohlc:<SYMBOL>
KEYS[3]  book buy      {ns}:book:<SYMBOL>:buy
KEYS[4]  book sell     {ns}:book:<SYMBOL>:sell
KEYS[5]  events        {ns}:events
KEYS[6]  markets       {ns}:markets

ARGV[1]  symbol
ARGV[2]  channel       Pub/Sub channel for events
ARGV[3]  maxlen        events stream MAXLEN ~
ARGV[4]  market        market record (JSON) registered if the symbol has none yet
ARGV[5…] ticks         8 values each, in stream order: entry id, price, bid, ask, ts, volume, bid qty,
                       ask qty (as for settle_tick; "" for a missing volume or qty)

Returns {code, applied}:
  0  OK        the first `applied` ticks are applied (0 when the first tick may cross an order).

Events: market.created (first price of a symbol), ticker.updated (at most one).
]]

--@include lib/events.lua
--@include lib/ticker.lua

local k = {ticker = KEYS[1], ohlc = KEYS[2], events = KEYS[5], markets = KEYS[6]}
local sym, channel, maxlen, market = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local best_buy = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')[2]
local best_sell = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')[2]
best_buy = best_buy and tonumber(best_buy) or -math.huge
best_sell = best_sell and tonumber(best_sell) or math.huge

local ticks = {}
for i = 5, #ARGV, 8 do
  local p = tonumber(ARGV[i + 1])
  if p <= best_buy or p >= best_sell then break end
  ticks[#ticks + 1] = tick_at(i)
end
if #ticks > 0 then apply_ticks(k, sym, market, channel, maxlen, ticks) end
return {0, #ticks}
