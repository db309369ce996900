--[[ deposit: credit the free balance of an asset (deposit, admin fund).

KEYS[1]  balances      S:balances (S: the account's shard tag)
KEYS[2]  ledger        S:ledger
KEYS[3]  events        S:events
KEYS[4]  assets        S:assets

ARGV[1]  asset
ARGV[2]  amount        minor units, > 0
ARGV[3]  max minor     largest balance allowed (minor units)
ARGV[4]  channel       Pub/Sub channel for events
ARGV[5]  maxlen        events stream MAXLEN ~
ARGV[6]  account       the account's name

Returns {code, free, used}:
  0  OK             credited; free and used after the change
  4  BALANCE_LIMIT  free + used + amount would exceed the largest supported balance; nothing changed

Events: balance.changed, with its flow (the amount, kind deposit).
]]

--@include lib/uint.lua
--@include lib/account.lua
--@include lib/events.lua

local balances, ledger, events, assets = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local asset, amount, max_minor, channel, maxlen, acct = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local free_f, used_f = bal(acct, asset, 'free'), bal(acct, asset, 'used')

local v = redis.call('HMGET', balances, free_f, used_f)
if uint_cmp(uint_add(uint_add(v[1], v[2]), amount), max_minor) > 0 then
  return {4, uint_norm(v[1]), uint_norm(v[2])}
end
redis.call('HINCRBY', balances, free_f, amount)
redis.call('HINCRBY', balances, used_f, 0)
redis.call('HINCRBY', ledger, bal(acct, asset, 'deposited'), amount)
note_asset(assets, acct, asset)
emit(events, channel, maxlen, 'balance.changed', flow_data(balances, acct, asset, amount, 'deposit'))
v = redis.call('HMGET', balances, free_f, used_f)
return {0, uint_norm(v[1]), uint_norm(v[2])}
