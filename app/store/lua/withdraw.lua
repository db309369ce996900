--[[ withdraw: debit the free balance of an asset.

KEYS[1]  balances      {ns}:balances
KEYS[2]  ledger        {ns}:ledger
KEYS[3]  events        {ns}:events

ARGV[1]  asset
ARGV[2]  amount        minor units, > 0
ARGV[3]  channel       Pub/Sub channel for events
ARGV[4]  maxlen        events stream MAXLEN ~

Returns {code, free, used}:
  0  OK                  debited; free and used after the change
  1  INSUFFICIENT_FUNDS  free is below amount (what open orders reserve cannot be withdrawn); nothing changed

Events: balance.changed.
]]

--@include lib/uint.lua
--@include lib/events.lua

local balances, ledger, events = KEYS[1], KEYS[2], KEYS[3]
local asset, amount, channel, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local v = redis.call('HMGET', balances, asset .. ':free', asset .. ':used')
if uint_cmp(v[1], amount) < 0 then
  return {1, uint_norm(v[1]), uint_norm(v[2])}
end
redis.call('HINCRBY', balances, asset .. ':free', uint_neg(amount))
redis.call('HINCRBY', ledger, asset .. ':withdrawn', amount)
emit(events, channel, maxlen, 'balance.changed', balance_data(balances, {asset}))
v = redis.call('HMGET', balances, asset .. ':free', asset .. ':used')
return {0, uint_norm(v[1]), uint_norm(v[2])}
