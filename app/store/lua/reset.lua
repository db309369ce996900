--[[ reset: wipe the account (balances, ledger, statistics, orders, trades, books and the events stream)
in one atomic step. Markets and tickers are market data and stay, and so do the id sequences: an order
or trade id is never issued twice, reset or not. UNLINK frees the
memory in the background, so even a huge account resets without blocking the server.

KEYS[1]     events        {ns}:events (re-created holding one exchange.reset event)
KEYS[2..n]  every other account key of the namespace (app.store.keys.Keys.account_keys)

ARGV[1]  channel       Pub/Sub channel for events
ARGV[2]  maxlen        events stream MAXLEN ~

Returns {code, unlinked}:
  0  OK  `unlinked` keys existed and were removed

Events: exchange.reset (the first entry of the new events stream).
]]

--@include lib/events.lua

local events, channel, maxlen = KEYS[1], ARGV[1], ARGV[2]
local unlinked = 0
for i = 1, #KEYS, 200 do
  unlinked = unlinked + redis.call('UNLINK', unpack(KEYS, i, math.min(i + 199, #KEYS)))
end
emit(events, channel, maxlen, 'exchange.reset', '{}')
return {0, unlinked}
