--[[ place_order: store a new order and move the money it needs, or refuse it and change nothing.

Python has priced the order (exact Decimal) and decided what happens to it; this script checks the
account can afford it and applies it atomically.

KEYS[1]  balances      S:balances (S: the account's shard tag)
KEYS[2]  orders        S:orders
KEYS[3]  order_ids     S:order_ids
KEYS[4]  open          S:open
KEYS[5]  cids          S:cids
KEYS[6]  order_seq     S:seq:order
KEYS[7]  book          S:book:<SYMBOL>:<side>
KEYS[8]  ticker        S:ticker:<SYMBOL> (the shard's ticker)
KEYS[9]  trades        S:trades
KEYS[10] trade_ids     S:trade_ids
KEYS[11] trade_seq     S:seq:trade
KEYS[12] stats         S:stats
KEYS[13] events        S:events
KEYS[14] assets        S:assets
KEYS[15] order_index   S:order_index
KEYS[16] trade_index   S:trade_index
KEYS[17] triggers      S:trig:<SYMBOL>:<up|down>, the order's trigger index (a plain order: either, untouched)

ARGV[1]  mode          "rest" | "fill" | "expire" | "trigger" (a stop order: reserve as rest, wait in KEYS[17])
ARGV[2]  record        order record (JSON, every value a string, `acct` the account; no id or timestamps yet)
ARGV[3]  debit asset   rest: the asset reserved; fill: the asset paid
ARGV[4]  debit         minor units reserved (rest) or paid (fill); "0" for expire
ARGV[5]  credit asset  fill only: the asset received
ARGV[6]  credit        fill only: minor units received
ARGV[7]  guard         rest: "ask>" (buy) or "bid<" (sell): the book must still not cross the limit;
                       trigger: "last<" (up) or "last>" (down): the last price must still not reach it
ARGV[8]  dry run       "1": check everything, write nothing
ARGV[9]  channel       Pub/Sub channel for events
ARGV[10] maxlen        events stream MAXLEN ~
ARGV[11] max minor     largest balance allowed (minor units)
ARGV[12] fill price    fill only: the price the order fills at (the ask for a buy, the bid for a sell)
ARGV[13] fill cost     fill only: quote minor units, price x amount
ARGV[14] fill fee      fill only: quote minor units
ARGV[15] id base       the shard's id base (shard x 2^46): ids are base + the shard's sequence

Returns {code, order record JSON or ""}:
  0  OK                   the order is stored (in dry run: would be stored)
  1  INSUFFICIENT_FUNDS   free balance of the debit asset is below the debit
  2  DUPLICATE_CLIENT_ID  the record's cid is already used by another order of the account
  3  PRICE_MOVED          rest: the ticker now crosses the limit; trigger: the last price reached the
                          trigger; re-price and retry
  4  BALANCE_LIMIT        fill: the credit would take a balance above the largest supported value

Indexes: the order's members of S:order_index (all, st:<status>, sym:<SYMBOL>, sym:<SYMBOL>:<status>, and
done unless it rests open) and, for a fill, its trade's members of S:trade_index (lib/history.lua).

Events: order.created, then order.filled (fill) or order.expired (expire); balance.changed when money moved
(rest, fill, trigger).
]]

--@include lib/uint.lua
--@include lib/account.lua
--@include lib/events.lua
--@include lib/fills.lua
--@include lib/history.lua

local balances, orders, order_ids, open, cids, order_seq, book, ticker, trades, trade_ids, trade_seq, stats, events =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local assets, order_index, trade_index, triggers = KEYS[14], KEYS[15], KEYS[16], KEYS[17]
local mode, record, da, debit, ca, credit, guard, dry, channel, maxlen, max_minor =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local fill_px, fill_cost, fill_fee, id_base = ARGV[12], ARGV[13], ARGV[14], ARGV[15]

local o = cjson.decode(record)
local acct = o.acct
local cid_field = acct .. '|' .. o.cid

if o.cid ~= '' and redis.call('HEXISTS', cids, cid_field) == 1 then
  return {2, ''}
end

if mode == 'trigger' then
  local last, tpx = tonumber(redis.call('HGET', ticker, 'last') or ''), tonumber(o.tpx)
  if last ~= nil and ((guard == 'last<' and last >= tpx) or (guard == 'last>' and last <= tpx)) then
    return {3, ''}
  end
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
  local free = redis.call('HGET', balances, bal(acct, da, 'free'))
  if uint_cmp(free, debit) < 0 then return {1, ''} end
end

if mode == 'fill' then
  local v = redis.call('HMGET', balances, bal(acct, ca, 'free'), bal(acct, ca, 'used'))
  if uint_cmp(uint_add(uint_add(v[1], v[2]), credit), max_minor) > 0 then return {4, ''} end
end

if dry == '1' then return {0, ''} end

local now_ms, now_us = server_now()
local id = issue_id(order_seq, id_base)
o.id = id
o.ts = now_ms
o.tus = now_us
o.uts = now_ms
if o.cid ~= '' then redis.call('HSET', cids, cid_field, id) end
redis.call('ZADD', order_ids, 0, member(acct, id))

if mode == 'rest' or mode == 'trigger' then
  o.st = 'open'
  o.res = debit
  redis.call('HINCRBY', balances, bal(acct, da, 'free'), uint_neg(debit))
  redis.call('HINCRBY', balances, bal(acct, da, 'used'), debit)
  if mode == 'trigger' then redis.call('ZADD', triggers, o.tpx, id) else redis.call('ZADD', book, o.px, id) end
  redis.call('ZADD', open, 0, member(acct, id))
  local created = cjson.encode(o)
  redis.call('HSET', orders, id, created)
  history_add(order_index, order_index_members(o))
  emit(events, channel, maxlen, 'order.created', order_data(created))
  emit(events, channel, maxlen, 'balance.changed', balance_data(balances, acct, {da}))
  return {0, created}
end

if mode == 'expire' then
  o.st = 'open'
  emit(events, channel, maxlen, 'order.created', order_data(cjson.encode(o)))
  o.st = 'expired'
  local expired = cjson.encode(o)
  redis.call('HSET', orders, id, expired)
  history_add(order_index, order_index_members(o))
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
redis.call('HINCRBY', balances, bal(acct, da, 'free'), uint_neg(debit))
redis.call('HINCRBY', balances, bal(acct, ca, 'free'), credit)
redis.call('HINCRBY', balances, bal(acct, ca, 'used'), 0)
note_asset(assets, acct, ca)
local tid = issue_id(trade_seq, id_base)
local trade = stamp_fill(o, tid, now_ms, now_ms, 'taker')
redis.call('HSET', trades, tid, trade)
redis.call('ZADD', trade_ids, 0, member(acct, tid))
history_add(trade_index, trade_index_members({acct = acct, id = tid, ts = now_ms, sym = o.sym}))
local prefix = acct .. ':' .. o.sym .. ':' .. o.side .. ':'
redis.call('HINCRBY', stats, prefix .. 'count', 1)
redis.call('HINCRBY', stats, prefix .. 'base', o.filled)
redis.call('HINCRBY', stats, prefix .. 'quote', o.cost)
redis.call('HINCRBY', stats, prefix .. fee_kind(o), o.fee)
local filled = cjson.encode(o)
redis.call('HSET', orders, id, filled)
history_add(order_index, order_index_members(o))
emit(events, channel, maxlen, 'order.filled', order_data(filled, trade))
emit(events, channel, maxlen, 'balance.changed', balance_data(balances, acct, {da, ca}))
return {0, filled}
