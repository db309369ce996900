--[[ place_order: store a new order and move the money it needs, or refuse it and change nothing.

Python has priced the order (exact Decimal) and decided what happens to it; this script checks the
account can afford it and applies it atomically.

KEYS[1]  balances      {ns}:balances
KEYS[2]  orders        {ns}:orders
KEYS[3]  order_ids     {ns}:order_ids
KEYS[4]  open          {ns}:open
KEYS[5]  cids          {ns}:cids
KEYS[6]  order_seq     {ns}:seq:order
KEYS[7]  book          {ns}:book:<SYMBOL>:<side>
KEYS[8]  ticker        {ns}:ticker:<SYMBOL>
KEYS[9]  trades        {ns}:trades
KEYS[10] trade_ids     {ns}:trade_ids
KEYS[11] trade_seq     {ns}:seq:trade
KEYS[12] stats         {ns}:stats
KEYS[13] events        {ns}:events

ARGV[1]  mode          "rest" | "fill" | "expire"
ARGV[2]  record        order record (JSON, every value a string; no id or timestamps yet)
ARGV[3]  debit asset   rest: the asset reserved; fill: the asset paid
ARGV[4]  debit         minor units reserved (rest) or paid (fill); "0" for expire
ARGV[5]  credit asset  fill only: the asset received
ARGV[6]  credit        fill only: minor units received
ARGV[7]  guard         rest only: "ask>" (buy) or "bid<" (sell): the book must still not cross the limit
ARGV[8]  dry run       "1": check everything, write nothing
ARGV[9]  channel       Pub/Sub channel for events
ARGV[10] maxlen        events stream MAXLEN ~
ARGV[11] max minor     largest balance allowed (minor units)
ARGV[12] fill price    fill only: the price the order fills at (the ask for a buy, the bid for a sell)
ARGV[13] fill cost     fill only: quote minor units, price x amount
ARGV[14] fill fee      fill only: quote minor units

Returns {code, order record JSON or ""}:
  0  OK                   the order is stored (in dry run: would be stored)
  1  INSUFFICIENT_FUNDS   free balance of the debit asset is below the debit
  2  DUPLICATE_CLIENT_ID  the record's cid is already used by another order
  3  PRICE_MOVED          rest: the ticker now crosses the limit; re-price and retry
  4  BALANCE_LIMIT        fill: the credit would take a balance above the largest supported value

Events: order.created, then order.filled (fill) or order.expired (expire); balance.changed when money moved.
]]

--@include lib/uint.lua
--@include lib/events.lua
--@include lib/fills.lua

local balances, orders, order_ids, open, cids, order_seq, book, ticker, trades, trade_ids, trade_seq, stats, events =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local mode, record, da, debit, ca, credit, guard, dry, channel, maxlen, max_minor =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local fill_px, fill_cost, fill_fee = ARGV[12], ARGV[13], ARGV[14]

local o = cjson.decode(record)

if o.cid ~= '' and redis.call('HEXISTS', cids, o.cid) == 1 then
  return {2, ''}
end

if mode == 'rest' then
  local px = tonumber(o.px)
  if guard == 'ask>' then
    local ask = tonumber(redis.call('HGET', ticker, 'ask') or '')
    if ask ~= nil and ask <= px then return {3, ''} end
  elseif guard == 'bid<' then
    local bid = tonumber(redis.call('HGET', ticker, 'bid') or '')
    if bid ~= nil and bid >= px then return {3, ''} end
  end
end

if mode ~= 'expire' then
  local free = redis.call('HGET', balances, da .. ':free')
  if uint_cmp(free, debit) < 0 then return {1, ''} end
end

if mode == 'fill' then
  local v = redis.call('HMGET', balances, ca .. ':free', ca .. ':used')
  if uint_cmp(uint_add(uint_add(v[1], v[2]), credit), max_minor) > 0 then return {4, ''} end
end

if dry == '1' then return {0, ''} end

local now_ms, now_us = server_now()
local id = tostring(redis.call('INCR', order_seq))
o.id = id
o.ts = now_ms
o.tus = now_us
o.uts = now_ms
if o.cid ~= '' then redis.call('HSET', cids, o.cid, id) end
redis.call('ZADD', order_ids, id, id)

if mode == 'rest' then
  o.st = 'open'
  o.res = debit
  redis.call('HINCRBY', balances, da .. ':free', uint_neg(debit))
  redis.call('HINCRBY', balances, da .. ':used', debit)
  redis.call('ZADD', book, o.px, id)
  redis.call('ZADD', open, id, id)
  local created = cjson.encode(o)
  redis.call('HSET', orders, id, created)
  emit(events, channel, maxlen, 'order.created', order_data(created))
  emit(events, channel, maxlen, 'balance.changed', balance_data(balances, {da}))
  return {0, created}
end

if mode == 'expire' then
  o.st = 'open'
  emit(events, channel, maxlen, 'order.created', order_data(cjson.encode(o)))
  o.st = 'expired'
  local expired = cjson.encode(o)
  redis.call('HSET', orders, id, expired)
  emit(events, channel, maxlen, 'order.expired', order_data(expired))
  return {0, expired}
end

-- fill: taker at the price Python used; the order is created and closed in one step.
o.st = 'open'
emit(events, channel, maxlen, 'order.created', order_data(cjson.encode(o)))
o.st = 'closed'
o.fpx = fill_px
o.filled = o.amt
o.cost = fill_cost
o.fee = fill_fee
redis.call('HINCRBY', balances, da .. ':free', uint_neg(debit))
redis.call('HINCRBY', balances, ca .. ':free', credit)
local tid = tostring(redis.call('INCR', trade_seq))
local trade = stamp_fill(o, tid, now_ms, now_ms, 'taker')
redis.call('HSET', trades, tid, trade)
redis.call('ZADD', trade_ids, tid, tid)
local prefix = o.sym .. ':' .. o.side .. ':'
redis.call('HINCRBY', stats, prefix .. 'count', 1)
redis.call('HINCRBY', stats, prefix .. 'base', o.filled)
redis.call('HINCRBY', stats, prefix .. 'quote', o.cost)
redis.call('HINCRBY', stats, prefix .. 'fee', o.fee)
local filled = cjson.encode(o)
redis.call('HSET', orders, id, filled)
emit(events, channel, maxlen, 'order.filled', order_data(filled, trade))
emit(events, channel, maxlen, 'balance.changed', balance_data(balances, {da, ca}))
return {0, filled}
