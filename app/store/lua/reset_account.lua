--[[ reset_account: wipe one account of a shard (balances, ledger, statistics, orders, trades, its resting
orders in the books), a chunk at a time. Other accounts of the shard, markets, tickers and the id
sequences stay (an id is never issued twice). Call again until `done`: each call removes at most `chunk`
orders or trades, so no call blocks the server for long; the balance rows go in the last call, with an
exchange.reset event for the account.

KEYS[1]  balances      S:balances (S: the account's shard tag)
KEYS[2]  assets        S:assets
KEYS[3]  ledger        S:ledger
KEYS[4]  stats         S:stats
KEYS[5]  orders        S:orders
KEYS[6]  order_ids     S:order_ids
KEYS[7]  open          S:open
KEYS[8]  cids          S:cids
KEYS[9]  trades        S:trades
KEYS[10] trade_ids     S:trade_ids
KEYS[11] events        S:events
KEYS[12] order_index   S:order_index
KEYS[13] trade_index   S:trade_index
KEYS[14…] books        S:book:<SYMBOL>:buy, S:book:<SYMBOL>:sell, S:trig:<SYMBOL>:up and S:trig:<SYMBOL>:down
                       of every symbol in ARGV[5…], four per symbol

ARGV[1]  account
ARGV[2]  chunk         most orders or trades to remove in this call
ARGV[3]  channel       Pub/Sub channel for events
ARGV[4]  maxlen        events stream MAXLEN ~
ARGV[5…] symbols       every symbol with a market (the i-th one's, from 1, are KEYS[10 + 4i] to KEYS[13 + 4i])

Each order or trade goes with every member of the history indexes its record gives (lib/history.lua);
members of the account left without a record (none, unless something else went wrong) go after the
records, at most `chunk` per call.

Returns {code, done, removed}:
  0  OK  `removed` orders, trades or leftover index members went in this call; done == 1 when the account
         is empty

Events: exchange.reset (with the account) in the call that finishes.
]]

--@include lib/uint.lua
--@include lib/account.lua
--@include lib/events.lua
--@include lib/history.lua

local balances, assets, ledger, stats, orders, order_ids, open, cids, trades, trade_ids, events =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local order_index, trade_index = KEYS[12], KEYS[13]
local acct, chunk, channel, maxlen = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local lo, hi = '[' .. acct .. '|', '[' .. acct .. '|~'  -- '~' sorts after every digit

local books = {}
for i = 5, #ARGV do
  local at = 14 + 4 * (i - 5)
  books[ARGV[i]] = {buy = KEYS[at], sell = KEYS[at + 1], up = KEYS[at + 2], down = KEYS[at + 3]}
end

-- orders first (taking resting ones out of their book), then trades, then any index member left over
local members = redis.call('ZRANGEBYLEX', order_ids, lo, hi, 'LIMIT', 0, chunk)
if #members > 0 then
  local ids, fields, indexed = {}, {}, {}
  for i, m in ipairs(members) do ids[i] = string.format('%.0f', tonumber(string.sub(m, #acct + 2))) end
  local raws = redis.call('HMGET', orders, unpack(ids))
  for i, id in ipairs(ids) do
    local o = raws[i] and cjson.decode(raws[i])
    if o then
      if o.st == 'open' and books[o.sym] then
        redis.call('ZREM', books[o.sym][o.side], id)
        if (o.tdir or '') ~= '' then redis.call('ZREM', books[o.sym][o.tdir], id) end
      end
      if o.cid ~= '' then fields[#fields + 1] = acct .. '|' .. o.cid end
      history_append(indexed, order_index_members(o))
    end
  end
  redis.call('HDEL', orders, unpack(ids))
  redis.call('ZREM', order_ids, unpack(members))
  redis.call('ZREM', open, unpack(members))
  if #fields > 0 then redis.call('HDEL', cids, unpack(fields)) end
  history_remove(order_index, indexed)
  return {0, 0, #members}
end
members = redis.call('ZRANGEBYLEX', trade_ids, lo, hi, 'LIMIT', 0, chunk)
if #members > 0 then
  local ids, indexed = {}, {}
  for i, m in ipairs(members) do ids[i] = string.format('%.0f', tonumber(string.sub(m, #acct + 2))) end
  local raws = redis.call('HMGET', trades, unpack(ids))
  for i = 1, #ids do
    if raws[i] then history_append(indexed, trade_index_members(cjson.decode(raws[i]))) end
  end
  redis.call('HDEL', trades, unpack(ids))
  redis.call('ZREM', trade_ids, unpack(members))
  history_remove(trade_index, indexed)
  return {0, 0, #members}
end
for _, index in ipairs({order_index, trade_index}) do
  members = redis.call('ZRANGEBYLEX', index, lo, hi, 'LIMIT', 0, chunk)
  if #members > 0 then
    history_remove(index, members)
    return {0, 0, #members}
  end
end

-- last: the balance rows, the ledger and the statistics of every symbol. The event goes first: with the
-- store full (maxmemory), its XADD is refused before anything is deleted, so nothing changes half-way.
emit(events, channel, maxlen, 'exchange.reset', '{"acct":' .. cjson.encode(acct) .. '}')
local rows = redis.call('ZRANGEBYLEX', assets, lo, hi)
local money = {}
for _, m in ipairs(rows) do
  local asset = string.sub(m, #acct + 2)
  for _, kind in ipairs({'free', 'used', 'deposited', 'withdrawn'}) do money[#money + 1] = bal(acct, asset, kind) end
end
if #money > 0 then
  redis.call('HDEL', balances, unpack(money))
  redis.call('HDEL', ledger, unpack(money))
  redis.call('ZREM', assets, unpack(rows))
end
for i = 5, #ARGV do
  local prefix = acct .. ':' .. ARGV[i] .. ':'
  local f = {}
  for _, side in ipairs({'buy', 'sell'}) do
    for _, kind in ipairs({'count', 'maker', 'base', 'quote', 'fee', 'basefee'}) do
      f[#f + 1] = prefix .. side .. ':' .. kind
    end
  end
  redis.call('HDEL', stats, unpack(f))
end
return {0, 1, 0}
