-- Recording a fill: the trade record, its id and the order's fill fields. Money is moved by the caller.

-- Stamps a fill on order `o` (a decoded order record whose px/filled/cost/fee are already set) and
-- writes the trade. Returns the encoded trade record.
local function record_trade(trades, trade_ids, trade_seq, o, ts, now_ms, role)
  local tid = tostring(redis.call('INCR', trade_seq))
  o.tid = tid
  o.tts = ts
  o.uts = now_ms
  o.role = role
  local trade = cjson.encode({
    id = tid, oid = o.id, sym = o.sym, side = o.side, type = o.type, px = o.fpx, amt = o.filled,
    cost = o.cost, fee = o.fee, fcur = o.fcur, rate = o.rate, ts = ts, role = role,
  })
  redis.call('HSET', trades, tid, trade)
  redis.call('ZADD', trade_ids, tid, tid)
  return trade
end

-- now in ms and in µs from the server clock (one clock for every process).
local function server_now()
  local t = redis.call('TIME')
  local s, us = tonumber(t[1]), tonumber(t[2])
  return tostring(s * 1000 + math.floor(us / 1000)), tostring(s * 1000000 + us)
end
