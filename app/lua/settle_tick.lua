--[[ settle_tick: apply one price tick of one symbol: update the ticker, then fill the resting limit
orders the price crosses, in bounded chunks.

A tick at price p fills every resting buy with limit >= p and every sell with limit <= p, each at its own
limit price (maker), consuming exactly the reservation made when it was placed. One call fills at most
`chunk` orders; the caller repeats with the returned offsets and phase until `done`, so no single call
blocks the server for long.

Applying a tick is idempotent and order-insensitive, which gives exactly-once effects with any number of
workers and redeliveries:
  * the ticker only moves forward: it takes the tick only if its entry id is newer than the one shown;
  * the hourly 24 h buckets keep max / min / first-by-id / last-by-id, which a repeat cannot change;
  * an order fills at most once (only an open order fills);
  * a tick that is not newer than the ticker (a redelivery, or a tick overtaken by a later one on another
    worker) only fills orders placed before the tick was published (created before its entry id time),
    so a stale tick never fills an order placed after it.

KEYS[1]  ticker        {ns}:ticker:<SYMBOL>
KEYS[2]  ohlc          {ns}:ohlc:<SYMBOL>
KEYS[3]  book buy      {ns}:book:<SYMBOL>:buy
KEYS[4]  book sell     {ns}:book:<SYMBOL>:sell
KEYS[5]  orders        {ns}:orders
KEYS[6]  open          {ns}:open
KEYS[7]  balances      {ns}:balances
KEYS[8]  stats         {ns}:stats
KEYS[9]  trades        {ns}:trades
KEYS[10] trade_ids     {ns}:trade_ids
KEYS[11] trade_seq     {ns}:seq:trade
KEYS[12] events        {ns}:events
KEYS[13] markets       {ns}:markets

ARGV[1]  symbol
ARGV[2]  entry id      price-stream entry id "ms-seq"
ARGV[3]  price         decimal string, > 0
ARGV[4]  bid           decimal string
ARGV[5]  ask           decimal string
ARGV[6]  ts            tick time, ms (trades of this tick carry it)
ARGV[7]  volume        24 h base volume reported by the source, or ""
ARGV[8]  bid qty       or ""
ARGV[9]  ask qty       or ""
ARGV[10] phase         "first": update the ticker and decide the mode; "n" / "l": continue in normal /
                       late mode; "sweep": fill at this price in normal mode, leave the ticker alone
ARGV[11] buy offset    crossed buys to skip (late mode: orders placed after the tick)
ARGV[12] sell offset   crossed sells to skip
ARGV[13] chunk         most orders to examine in this call
ARGV[14] channel       Pub/Sub channel for events
ARGV[15] maxlen        events stream MAXLEN ~
ARGV[16] market        market record (JSON) registered if the symbol has none yet

Returns {code, filled, buy offset, sell offset, done, mode, examined}:
  0  OK        `filled` orders filled; call again with the offsets and `mode` as phase unless done == 1.
               `examined` is how many resting orders this call looked at (0 when nothing crosses).

Events: market.created (first price of a symbol), ticker.updated (when the ticker or its 24 h buckets
changed), order.filled per fill (with its trade), order.expired (a fill that would overflow a balance),
balance.changed once per call with fills.
]]

--@include lib/uint.lua
--@include lib/events.lua
--@include lib/ticker.lua
--@include lib/fills.lua

local ticker, ohlc, book_buy, book_sell, orders, open, balances, stats, trades, trade_ids, trade_seq, events, markets =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local sym, id, price, ts, phase = ARGV[1], ARGV[2], ARGV[3], ARGV[6], ARGV[10]
local buy_off, sell_off, chunk = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local channel, maxlen, market = ARGV[14], ARGV[15], ARGV[16]

local mode = phase
if phase == 'first' then
  local k = {ticker = ticker, ohlc = ohlc, markets = markets, events = events}
  mode = apply_ticks(k, sym, market, channel, maxlen, {tick_at(2)}) and 'n' or 'l'
elseif phase == 'sweep' then
  mode = 'n'
end

local ms = tonumber(string.match(id, '^(%d+)-'))
local cutoff_us = ms * 1000
local now_ms, next_tid  -- read on the first order examined: a tick crossing nothing needs neither
local used_out, free_in, touched, free_start = {}, {}, {}, {}
local filled, examined, budget = 0, 0, chunk

local function touch(asset)
  if not touched[asset] then
    touched[asset] = true
    touched[#touched + 1] = asset
    free_start[asset] = tonumber(redis.call('HGET', balances, asset .. ':free') or '0')
    used_out[asset] = sum_new()
    free_in[asset] = sum_new()
  end
end

-- Examines up to `budget` crossed orders of one book from `offset`; returns the new offset (late mode
-- skips orders placed after the tick) and whether the crossed range is exhausted.
local function run(book, lo, hi, offset, side)
  local ids = redis.call('ZRANGEBYSCORE', book, lo, hi, 'LIMIT', offset, budget)
  local exhausted = #ids < budget
  examined = examined + #ids
  budget = budget - #ids
  if #ids == 0 then return offset, exhausted end
  if not now_ms then
    now_ms = server_now()
    next_tid = tonumber(redis.call('GET', trade_seq) or '0')
  end
  local raws = redis.call('HMGET', orders, unpack(ids))
  local gone, order_writes, trade_writes, trade_index = {}, {}, {}, {}
  local count, base, quote, fee = 0, sum_new(), sum_new(), sum_new()
  for i, oid in ipairs(ids) do
    local raw = raws[i]
    local o = raw and cjson.decode(raw)
    if not o or o.st ~= 'open' then
      gone[#gone + 1] = oid  -- a stale index entry: drop it
    elseif mode == 'l' and tonumber(o.tus) >= cutoff_us then
      offset = offset + 1  -- placed after this tick was published: not this tick's to fill
    else
      gone[#gone + 1] = oid
      touch(o.ra); touch(o.ca)
      sum_add(used_out[o.ra], o.res)
      if free_start[o.ca] + sum_approx(free_in[o.ca]) + tonumber(o.cr) >= 9e18 then
        -- the credit would overflow a 64-bit balance: give the reservation back and expire the order
        sum_add(free_in[o.ra], o.res)
        o.st = 'expired'; o.res = '0'; o.uts = now_ms
        local expired = cjson.encode(o)
        order_writes[#order_writes + 1] = oid
        order_writes[#order_writes + 1] = expired
        emit(events, channel, maxlen, 'order.expired', order_data(expired))
      else
        sum_add(free_in[o.ca], o.cr)
        o.st = 'closed'; o.res = '0'; o.fpx = o.px; o.filled = o.amt; o.cost = o.mc; o.fee = o.mf
        next_tid = next_tid + 1
        local tid = tostring(next_tid)
        local trade = stamp_fill(o, tid, ts, now_ms, 'maker')
        local done_json = cjson.encode(o)
        order_writes[#order_writes + 1] = oid
        order_writes[#order_writes + 1] = done_json
        trade_writes[#trade_writes + 1] = tid
        trade_writes[#trade_writes + 1] = trade
        trade_index[#trade_index + 1] = tid
        trade_index[#trade_index + 1] = tid
        emit(events, channel, maxlen, 'order.filled', order_data(done_json, trade))
        count = count + 1
        sum_add(base, o.amt); sum_add(quote, o.mc); sum_add(fee, o.mf)
      end
    end
  end
  if #gone > 0 then
    call_sliced('ZREM', book, gone, 1000)
    call_sliced('ZREM', open, gone, 1000)
  end
  if #order_writes > 0 then call_sliced('HSET', orders, order_writes, 1000) end
  if count > 0 then
    call_sliced('HSET', trades, trade_writes, 1000)
    call_sliced('ZADD', trade_ids, trade_index, 1000)
    local prefix = sym .. ':' .. side .. ':'
    redis.call('HINCRBY', stats, prefix .. 'count', count)
    redis.call('HINCRBY', stats, prefix .. 'maker', count)
    redis.call('HINCRBY', stats, prefix .. 'base', sum_value(base))
    redis.call('HINCRBY', stats, prefix .. 'quote', sum_value(quote))
    redis.call('HINCRBY', stats, prefix .. 'fee', sum_value(fee))
    filled = filled + count
  end
  return offset, exhausted
end

local buys_done, sells_done = false, false
buy_off, buys_done = run(book_buy, price, '+inf', buy_off, 'buy')
if budget > 0 then
  sell_off, sells_done = run(book_sell, '-inf', price, sell_off, 'sell')
end

if #touched > 0 then
  redis.call('SET', trade_seq, tostring(next_tid))
  for _, asset in ipairs(touched) do
    local out, into = sum_value(used_out[asset]), sum_value(free_in[asset])
    if out ~= '0' then redis.call('HINCRBY', balances, asset .. ':used', uint_neg(out)) end
    if into ~= '0' then redis.call('HINCRBY', balances, asset .. ':free', into) end
  end
  emit(events, channel, maxlen, 'balance.changed', balance_data(balances, touched))
end

local done = (buys_done and sells_done) and 1 or 0
return {0, filled, buy_off, sell_off, done, mode, examined}
