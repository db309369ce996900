--[[ cancel_order: cancel an open order and release exactly what it still reserves.

KEYS[1]  balances      {ns}:balances
KEYS[2]  orders        {ns}:orders
KEYS[3]  open          {ns}:open
KEYS[4]  book          {ns}:book:<SYMBOL>:<side> of this order
KEYS[5]  events        {ns}:events

ARGV[1]  order id
ARGV[2]  channel       Pub/Sub channel for events
ARGV[3]  maxlen        events stream MAXLEN ~

Returns {code, order record JSON or ""}:
  0  OK         canceled; the record is the canceled order
  5  NOT_FOUND  no order with this id
  6  NOT_OPEN   the order is closed, canceled or expired already (the record shows which); nothing changed

Events: order.canceled, balance.changed.
]]

--@include lib/uint.lua
--@include lib/events.lua
--@include lib/fills.lua

local balances, orders, open, book, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, channel, maxlen = ARGV[1], ARGV[2], ARGV[3]

local raw = redis.call('HGET', orders, id)
if not raw then return {5, ''} end
local o = cjson.decode(raw)
if o.st ~= 'open' then return {6, raw} end

local res = o.res
redis.call('HINCRBY', balances, o.ra .. ':used', uint_neg(res))
redis.call('HINCRBY', balances, o.ra .. ':free', res)
redis.call('ZREM', book, id)
redis.call('ZREM', open, id)
local now_ms = server_now()
o.st = 'canceled'
o.res = '0'
o.uts = now_ms
local canceled = cjson.encode(o)
redis.call('HSET', orders, id, canceled)
emit(events, channel, maxlen, 'order.canceled', order_data(canceled))
emit(events, channel, maxlen, 'balance.changed', balance_data(balances, {o.ra}))
return {0, canceled}
