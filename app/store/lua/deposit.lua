--[[ deposit: credit the free balance of an asset (deposit, admin fund).

KEYS[1]  balances      {ns}:balances
KEYS[2]  ledger        {ns}:ledger
KEYS[3]  events        {ns}:events

ARGV[1]  asset
ARGV[2]  amount        minor units, > 0
ARGV[3]  max minor     largest balance allowed (minor units)
ARGV[4]  channel       Pub/Sub channel for events
ARGV[5]  maxlen        events stream MAXLEN ~

Returns {code, free, used}:
  0  OK             credited; free and used after the change
  4  BALANCE_LIMIT  free + used + amount would exceed the largest supported balance; nothing changed

Events: balance.changed.
]]

--@include lib/uint.lua
--@include lib/events.lua

local balances, ledger, events = KEYS[1], KEYS[2], KEYS[3]
local asset, amount, max_minor, channel, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local v = redis.call('HMGET', balances, asset .. ':free', asset .. ':used')
if uint_cmp(uint_add(uint_add(v[1], v[2]), amount), max_minor) > 0 then
  return {4, uint_norm(v[1]), uint_norm(v[2])}
end
local free = redis.call('HINCRBY', balances, asset .. ':free', amount)
redis.call('HINCRBY', balances, asset .. ':used', 0)
redis.call('HINCRBY', ledger, asset .. ':deposited', amount)
emit(events, channel, maxlen, 'balance.changed', balance_data(balances, {asset}))
v = redis.call('HMGET', balances, asset .. ':free', asset .. ':used')
return {0, uint_norm(v[1]), uint_norm(v[2])}
