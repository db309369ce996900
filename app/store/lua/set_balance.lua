--[[ set_balance: overwrite the free balance of an asset (admin). `used` belongs to open orders and is
kept; the difference to the old free balance is booked in the ledger as a deposit or a withdrawal, so
value stays accounted for.

KEYS[1]  balances      S:balances (S: the account's shard tag)
KEYS[2]  ledger        S:ledger
KEYS[3]  events        S:events
KEYS[4]  assets        S:assets

ARGV[1]  asset
ARGV[2]  free          the new free balance, minor units, >= 0
ARGV[3]  max minor     largest balance allowed (minor units)
ARGV[4]  channel       Pub/Sub channel for events
ARGV[5]  maxlen        events stream MAXLEN ~
ARGV[6]  account       the account's name

Returns {code, free, used}:
  0  OK             free overwritten (or already equal: nothing written, no event)
  4  BALANCE_LIMIT  free + used would exceed the largest supported balance; nothing changed

Events: balance.changed (only when free changed).
]]

--@include lib/uint.lua
--@include lib/account.lua
--@include lib/events.lua

local balances, ledger, events, assets = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local asset, new_free, max_minor, channel, maxlen, acct = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local free_f, used_f = bal(acct, asset, 'free'), bal(acct, asset, 'used')

local v = redis.call('HMGET', balances, free_f, used_f)
local old_free, used = uint_norm(v[1]), uint_norm(v[2])
if uint_cmp(uint_add(new_free, used), max_minor) > 0 then return {4, old_free, used} end
local c = uint_cmp(new_free, old_free)
if c == 0 then
  redis.call('HSETNX', balances, free_f, '0')
  redis.call('HSETNX', balances, used_f, '0')
  note_asset(assets, acct, asset)
  return {0, old_free, used}
end
if c > 0 then
  redis.call('HINCRBY', ledger, bal(acct, asset, 'deposited'), uint_sub(new_free, old_free))
else
  redis.call('HINCRBY', ledger, bal(acct, asset, 'withdrawn'), uint_sub(old_free, new_free))
end
redis.call('HSET', balances, free_f, new_free, used_f, used)
note_asset(assets, acct, asset)
emit(events, channel, maxlen, 'balance.changed', balance_data(balances, acct, {asset}))
return {0, new_free, used}
