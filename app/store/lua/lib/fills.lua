-- Recording a fill: the trade record, its id and the order's fill fields. Money is moved by the caller.

-- Stamps fill number `tid` on order `o` (a decoded order record whose fpx/filled/cost/fee are already
-- set) and returns the encoded trade record. The caller writes both records.
local function stamp_fill(o, tid, ts, now_ms, role)
  o.tid = tid
  o.tts = ts
  o.uts = now_ms
  o.role = role
  return cjson.encode({
    id = tid, oid = o.id, acct = o.acct, sym = o.sym, side = o.side, type = o.type, px = o.fpx, amt = o.filled,
    cost = o.cost, fee = o.fee, fcur = o.fcur, rate = o.rate, ts = ts, role = role,
  })
end

-- The statistics field a fill's fee is counted in: `fee` when it is paid in the quote asset, `basefee`
-- when in the base asset (FEE_ASSET=received, a buy).
local function fee_kind(o)
  if o.fcur == o.base then return 'basefee' end
  return 'fee'
end

-- redis.call(cmd, key, ...) with `values` in slices, so a long list never overflows Lua's stack.
local function call_sliced(cmd, key, values, step)
  for i = 1, #values, step do
    redis.call(cmd, key, unpack(values, i, math.min(i + step - 1, #values)))
  end
end

-- now in ms and in µs from the server clock (one clock for every process).
local function server_now()
  local t = redis.call('TIME')
  local s, us = tonumber(t[1]), tonumber(t[2])
  return tostring(s * 1000 + math.floor(us / 1000)), tostring(s * 1000000 + us)
end
