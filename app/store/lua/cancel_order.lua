--[[ cancel_order: cancel an open order and release exactly what it still reserves.

KEYS[1]  balances      S:balances (S: the account's shard tag)
KEYS[2]  orders        S:orders
KEYS[3]  open          S:open
KEYS[4]  book          S:book:<SYMBOL>:<side> of this order
KEYS[5]  events        S:events
KEYS[6]  order_index   S:order_index
KEYS[7]  triggers      S:trig:<SYMBOL>:<up|down> of this order (a stop order waiting for its trigger)

ARGV[1]  order id
ARGV[2]  channel       Pub/Sub channel for events
ARGV[3]  maxlen        events stream MAXLEN ~
ARGV[4]  account       the caller's account: another account's order does not exist for it

Returns {code, order record JSON or ""}:
  0  OK         canceled; the record is the canceled order
  5  NOT_FOUND  no order with this id of this account
  6  NOT_OPEN   the order is closed, canceled or expired already (the record shows which); nothing changed

Indexes: the order moves from open to canceled in S:order_index (and joins its done dim).

An OCO leg is canceled with its sibling (the list's one reservation released): KEYS[4] and KEYS[7] are then
the side's book and the list's stop leg's trigger index.

Events: order.canceled (the sibling's first, for an OCO leg), balance.changed.
]]

--@include lib/uint.lua
--@include lib/account.lua
--@include lib/events.lua
--@include lib/fills.lua
--@include lib/history.lua
--@include lib/oco.lua

local balances, orders, open, book, events, order_index, triggers =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local id, channel, maxlen, acct = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local raw = redis.call('HGET', orders, id)
if not raw then return {5, ''} end
local o = cjson.decode(raw)
if o.acct ~= acct then return {5, ''} end
if o.st ~= 'open' then return {6, raw} end

local now_ms = server_now()
local sibling = (o.oco or '') ~= '' and redis.call('HGET', orders, o.oco)
if sibling then  -- an OCO leg: the whole list goes, and the list's one reservation with it (lib/oco.lua)
  local y = cjson.decode(sibling)
  if y.st == 'open' then
    local keys = {book_buy = book, book_sell = book, triggers = triggers, open = open, orders = orders,
                  order_index = order_index, events = events}
    local release = oco_cancel(y, o, keys, now_ms, channel, maxlen)
    if release ~= '0' then
      redis.call('HINCRBY', balances, bal(acct, o.ra, 'used'), uint_neg(release))
      redis.call('HINCRBY', balances, bal(acct, o.ra, 'free'), release)
    end
  end
end
local res = o.res
redis.call('HINCRBY', balances, bal(acct, o.ra, 'used'), uint_neg(res))
redis.call('HINCRBY', balances, bal(acct, o.ra, 'free'), res)
redis.call('ZREM', book, id)
if o.tk and o.tk ~= '' then redis.call('ZREM', triggers, id) end  -- waiting for its trigger, or in the book
redis.call('ZREM', open, member(acct, id))
o.st = 'canceled'
o.res = '0'
o.uts = now_ms
local canceled = cjson.encode(o)
redis.call('HSET', orders, id, canceled)
order_index_move(order_index, o, 'open')
emit(events, channel, maxlen, 'order.canceled', order_data(canceled))
emit(events, channel, maxlen, 'balance.changed', balance_data(balances, acct, {o.ra}))
return {0, canceled}
