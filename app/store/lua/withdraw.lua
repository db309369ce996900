--[[ withdraw: debit the free balance of an asset.

KEYS[1]  balances      S:balances (S: the account's shard tag)
KEYS[2]  ledger        S:ledger
KEYS[3]  events        S:events

ARGV[1]  asset
ARGV[2]  amount        minor units, > 0
ARGV[3]  channel       Pub/Sub channel for events
ARGV[4]  maxlen        events stream MAXLEN ~
ARGV[5]  account       the account's name

Returns {code, free, used}:
  0  OK                  debited; free and used after the change
  1  INSUFFICIENT_FUNDS  free is below amount (what open orders reserve cannot be withdrawn); nothing changed

Events: balance.changed, with its flow (minus the amount, kind withdrawal).
]]

--@include lib/uint.lua
--@include lib/account.lua
--@include lib/events.lua

local balances, ledger, events = KEYS[1], KEYS[2], KEYS[3]
local asset, amount, channel, maxlen, acct = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local free_f, used_f = bal(acct, asset, 'free'), bal(acct, asset, 'used')

local v = redis.call('HMGET', balances, free_f, used_f)
if uint_cmp(v[1], amount) < 0 then
  return {1, uint_norm(v[1]), uint_norm(v[2])}
end
redis.call('HINCRBY', balances, free_f, uint_neg(amount))
redis.call('HINCRBY', ledger, bal(acct, asset, 'withdrawn'), amount)
emit(events, channel, maxlen, 'balance.changed',
  flow_data(balances, acct, asset, '-' .. uint_norm(amount), 'withdrawal'))
v = redis.call('HMGET', balances, free_f, used_f)
return {0, uint_norm(v[1]), uint_norm(v[2])}
