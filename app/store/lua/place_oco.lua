--[[ place_oco: store a one-cancels-the-other order list, a resting limit order and a stop-loss(-limit) of
the same side and amount, and reserve once what the larger of their fills needs; or refuse it and change
nothing.

Python has priced both legs (exact Decimal): each record carries its own reservation need, and the list
reserves the larger, carried by that leg (the holder); the other leg is marked `shr` = "1" (lib/oco.lua).

KEYS[1]  balances      S:balances (S: the account's shard tag)
KEYS[2]  orders        S:orders
KEYS[3]  order_ids     S:order_ids
KEYS[4]  open          S:open
KEYS[5]  order_seq     S:seq:order
KEYS[6]  book          S:book:<SYMBOL>:<side>
KEYS[7]  triggers      S:trig:<SYMBOL>:<up|down>, the stop leg's trigger index
KEYS[8]  ticker        S:ticker:<SYMBOL> (the shard's ticker)
KEYS[9]  events        S:events
KEYS[10] order_index   S:order_index

ARGV[1]  limit record  the limit leg (JSON, every value a string, `acct` the account; no id yet)
ARGV[2]  stop record   the stop leg, likewise (its `tpx`, `tdir` set)
ARGV[3]  limit debit   minor units the limit leg's fill needs reserved
ARGV[4]  stop debit    minor units the stop leg's fill needs reserved (same asset, the records' `ra`)
ARGV[5]  limit guard   "ask>" (buy) or "bid<" (sell): the book must still not cross the limit
ARGV[6]  stop guard    "last<" (up) or "last>" (down): the last price must still not reach the trigger
ARGV[7]  dry run       "1": check everything, write nothing
ARGV[8]  channel       Pub/Sub channel for events
ARGV[9]  maxlen        events stream MAXLEN ~
ARGV[10] id base       the shard's id base

Returns {code, limit record JSON or "", stop record JSON or ""}:
  0  OK                   both legs are stored (in dry run: would be)
  1  INSUFFICIENT_FUNDS   free balance of the reserved asset is below the larger debit
  3  PRICE_MOVED          the ticker now crosses the limit or reaches the trigger; re-price and retry

Indexes: both orders join S:order_index open (lib/history.lua).

Events: order.created for each leg (limit first), balance.changed.
]]

--@include lib/uint.lua
--@include lib/account.lua
--@include lib/events.lua
--@include lib/fills.lua
--@include lib/history.lua

local balances, orders, order_ids, open, order_seq, book, triggers, ticker, events, order_index =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local limit_debit, stop_debit, limit_guard, stop_guard, dry, channel, maxlen, id_base =
  ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local a, b = cjson.decode(ARGV[1]), cjson.decode(ARGV[2])
local acct, asset = a.acct, a.ra

local t = redis.call('HMGET', ticker, 'last', 'bid', 'ask')
local last, bid, ask = tonumber(t[1] or ''), tonumber(t[2] or ''), tonumber(t[3] or '')
local px, tpx = tonumber(a.px), tonumber(b.tpx)
if (limit_guard == 'ask>' and ask ~= nil and ask <= px) or (limit_guard == 'bid<' and bid ~= nil and bid >= px) then
  return {3, '', ''}
end
if last ~= nil and ((stop_guard == 'last<' and last >= tpx) or (stop_guard == 'last>' and last <= tpx)) then
  return {3, '', ''}
end

local a_holds = uint_cmp(limit_debit, stop_debit) >= 0
local debit = a_holds and limit_debit or stop_debit
if uint_cmp(redis.call('HGET', balances, bal(acct, asset, 'free')), debit) < 0 then return {1, '', ''} end
if dry == '1' then return {0, '', ''} end

local now_ms, now_us = server_now()
a.id, b.id = issue_id(order_seq, id_base), issue_id(order_seq, id_base)
a.res, b.res = limit_debit, stop_debit
a.shr, b.shr = a_holds and '' or '1', a_holds and '1' or ''
a.oco, b.oco, a.ol, b.ol = b.id, a.id, a.id, a.id
for _, o in ipairs({a, b}) do
  o.ts, o.tus, o.uts, o.st = now_ms, now_us, now_ms, 'open'
  redis.call('ZADD', order_ids, 0, member(acct, o.id))
  redis.call('ZADD', open, 0, member(acct, o.id))
end
redis.call('HINCRBY', balances, bal(acct, asset, 'free'), uint_neg(debit))
redis.call('HINCRBY', balances, bal(acct, asset, 'used'), debit)
redis.call('ZADD', book, a.px, a.id)
redis.call('ZADD', triggers, b.tpx, b.id)
local limit_json, stop_json = cjson.encode(a), cjson.encode(b)
redis.call('HSET', orders, a.id, limit_json, b.id, stop_json)
history_add(order_index, order_index_members(a))
history_add(order_index, order_index_members(b))
emit(events, channel, maxlen, 'order.created', order_data(limit_json))
emit(events, channel, maxlen, 'order.created', order_data(stop_json))
emit(events, channel, maxlen, 'balance.changed', balance_data(balances, acct, {asset}))
return {0, limit_json, stop_json}
