--[[ trim_history: remove one account's oldest history, a chunk at a time (retention).

An order that is no longer open goes when it closed before the cutoff or when the account holds more
than `max` such orders (the oldest go first); a trade likewise by its time. Every index member, the
record and the clientOrderId of a removed row go with it. Open orders are never touched; statistics,
ledger and balances are not history and stay. Call again while `more` is 1: each call removes at most
`chunk` orders and `chunk` trades, so no call blocks the server for long.

KEYS[1]  orders        S:orders (S: the account's shard tag)
KEYS[2]  order_ids     S:order_ids
KEYS[3]  order_index   S:order_index
KEYS[4]  cids          S:cids
KEYS[5]  trades        S:trades
KEYS[6]  trade_ids     S:trade_ids
KEYS[7]  trade_index   S:trade_index

ARGV[1]  account
ARGV[2]  cutoff        ms: history closed (orders) or traded (trades) before it goes
ARGV[3]  max           the most closed orders, and the most trades, the account keeps
ARGV[4]  chunk         the most orders, and the most trades, removed by this call

Returns {code, orders removed, trades removed, more}:
  0  OK  more == 1 when this call stopped at its chunk with more to remove

Events: none (history leaving is not a change of the account's state).
]]

--@include lib/account.lua
--@include lib/history.lua

local orders, order_ids, order_index, cids, trades, trade_ids, trade_index =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local acct, cutoff, max, chunk = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

-- The oldest rows of `dim` that must go (beyond the newest `max`, or before the cutoff): their ids and
-- the members read (removed as well, so even a member whose record is missing cannot stay for ever).
local function doomed(index, dim)
  local lo, hi = '[' .. acct .. '|' .. dim .. '|', '[' .. acct .. '|' .. dim .. '|~'
  local excess = redis.call('ZLEXCOUNT', index, lo, hi) - max
  local members = redis.call('ZRANGEBYLEX', index, lo, hi, 'LIMIT', 0, chunk)
  local ids, read, at = {}, {}, #acct + #dim + 3  -- `at`: where the 13-digit time starts
  for i, m in ipairs(members) do
    if i > excess and tonumber(string.sub(m, at, at + 12)) >= cutoff then break end
    ids[i] = string.format('%.0f', tonumber(string.sub(m, at + 14)))  -- no exponent, whatever the id
    read[i] = m
  end
  return ids, read, #ids == chunk
end

-- Removes rows `ids` of `store` with every member `members_of` gives for their records.
local function remove(store, id_index, index, ids, read, members_of, also)
  if #ids == 0 then return end
  local raws = redis.call('HMGET', store, unpack(ids))
  local members, id_members = read, {}
  for i, id in ipairs(ids) do
    local rec = raws[i] and cjson.decode(raws[i])
    if rec then
      for _, m in ipairs(members_of(rec)) do members[#members + 1] = m end
      if also then also(rec) end
    end
    id_members[i] = member(acct, id)
  end
  history_remove(index, members)
  history_remove(id_index, id_members)
  redis.call('HDEL', store, unpack(ids))
end

local names = {}
local order_gone, order_read, order_more = doomed(order_index, 'done')
remove(orders, order_ids, order_index, order_gone, order_read, order_index_members, function(o)
  if o.cid ~= '' then names[#names + 1] = acct .. '|' .. o.cid end
end)
if #names > 0 then redis.call('HDEL', cids, unpack(names)) end

local trade_gone, trade_read, trade_more = doomed(trade_index, 'all')
remove(trades, trade_ids, trade_index, trade_gone, trade_read, trade_index_members, nil)

local more = 0
if order_more or trade_more then more = 1 end
return {0, #order_gone, #trade_gone, more}
