-- Events leave from the place the state changed: appended to the capped events stream (the entry id is
-- the event id, so readers can resume) and published on the Pub/Sub channel for live listeners.
-- `data` is a JSON object (already encoded); every number in it is a string.

local function emit(stream, channel, maxlen, etype, data)
  local id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'type', etype, 'data', data)
  redis.call('PUBLISH', channel, '{"id":"' .. id .. '","type":"' .. etype .. '","data":' .. data .. '}')
  return id
end

-- The balance.changed payload: the account and the current free/used of each asset in `assets` (names).
-- Needs lib/account.lua.
local function balance_data(balances, acct, assets)
  local parts = {}
  for _, a in ipairs(assets) do
    local v = redis.call('HMGET', balances, bal(acct, a, 'free'), bal(acct, a, 'used'))
    parts[#parts + 1] = cjson.encode(a) .. ':{"free":"' .. (v[1] or '0') .. '","used":"' .. (v[2] or '0') .. '"}'
  end
  return '{"acct":' .. cjson.encode(acct) .. ',"assets":{' .. table.concat(parts, ',') .. '}}'
end

-- balance_data plus the money that came in or went out: `flow` {asset, delta (signed minor units), kind}.
local function flow_data(balances, acct, asset, delta, kind)
  local data = balance_data(balances, acct, {asset})
  return data:sub(1, -2) .. ',"flow":{"asset":' .. cjson.encode(asset) .. ',"delta":"' .. delta ..
    '","kind":"' .. kind .. '"}}'
end

local function order_data(order_json, trade_json)
  if trade_json then
    return '{"order":' .. order_json .. ',"trade":' .. trade_json .. '}'
  end
  return '{"order":' .. order_json .. '}'
end
