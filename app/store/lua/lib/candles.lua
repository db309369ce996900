-- The OHLCV candles of one symbol (1m, 1h and 1d stored), kept by shard 0's settle calls. Shared by
-- settle_tick (phase "first") and settle_batch; needs lib/uint.lua and lib/ticker.lua (parse_id, id_order).
--
-- A candle is the hash field <res>:<i> (i = ts // interval, the tick's publisher time, UTC) of
-- {ns}:candles:<SYMBOL>, valued o|oo|oid|h|l|c|co|cid|v|q|n (see app/store/keys.py, *Candles*):
--   * open / close: the first / last tick by order key (ts, entry id); oo / co are the ts offsets in the
--     candle, oid / cid the entry ids. A backfilled candle has oo = 0, co = -1 and ids "0-0": it comes
--     before any live tick in it, keeping its open and giving up its close;
--   * h / l: the highest / lowest price (compared as doubles of <= 15-digit prices, as the ticker does);
--   * v / q / n: Σ qty, Σ qty × price and the count of the prints (ticks with a qty), exact decimals.
-- Price fields are idempotent and order-insensitive. Volume is not, so a print is counted once per entry
-- id: the call looks its print ids up in the counted zset (one ZMSCORE), counts only the absent ones
-- (once within the call too) and adds them (one ZADD, score = entry ms), atomically with the candles.
-- The workers mark acknowledged ids (score -<ack ms>), the sweep removes them after a grace period and
-- removes ids whose entries left the price stream (app/engine/candles.py).
--
-- Per call: one HMGET of every candle field the ticks touch, one HSET of those that changed, at most one
-- ZMSCORE + ZADD, and one XADD candle.updated (the newest 1m candle touched) to the candle events stream.

local CANDLE_RES = {{'1m', 60000}, {'1h', 3600000}, {'1d', 86400000}}

-- A non-negative decimal string as (digits, scale): "12.50" -> "1250", 2.
local function dec_parts(s)
  local i, f = string.match(s, '^(%d*)%.?(%d*)$')
  return uint_norm(i .. f), #f
end

-- digits / 10^scale as a canonical decimal string (no trailing zeros after the point).
local function dec_str(d, scale)
  if scale == 0 then return d end
  if #d <= scale then d = string.rep('0', scale - #d + 1) .. d end
  local i = string.sub(d, 1, #d - scale)
  local f = (string.gsub(string.sub(d, #d - scale + 1), '0+$', ''))
  if f == '' then return i end
  return i .. '.' .. f
end

local function dec_add(a, b)
  local da, sa = dec_parts(a)
  local db, sb = dec_parts(b)
  local s = math.max(sa, sb)
  return dec_str(uint_add(da .. string.rep('0', s - sa), db .. string.rep('0', s - sb)), s)
end

-- a × b of two non-negative integer strings, in chunks of 7 digits (every partial stays below 2^53).
local function uint_mul(a, b)
  local x, y, r = {}, {}, {}
  for i = #a, 1, -7 do x[#x + 1] = tonumber(string.sub(a, math.max(1, i - 6), i)) end
  for i = #b, 1, -7 do y[#y + 1] = tonumber(string.sub(b, math.max(1, i - 6), i)) end
  for i = 1, #x + #y + 1 do r[i] = 0 end
  for i = 1, #x do
    local carry, k = 0, i + #y
    for j = 1, #y do
      local cur = r[i + j - 1] + x[i] * y[j] + carry
      carry = math.floor(cur / 10000000)
      r[i + j - 1] = cur - carry * 10000000
    end
    while carry > 0 do
      local cur = r[k] + carry
      carry = math.floor(cur / 10000000)
      r[k] = cur - carry * 10000000
      k = k + 1
    end
  end
  local out = {}
  for i = #r, 1, -1 do out[#out + 1] = string.format('%07d', r[i]) end
  return uint_norm(table.concat(out))
end

local function dec_mul(a, b)
  local da, sa = dec_parts(a)
  local db, sb = dec_parts(b)
  return dec_str(uint_mul(da, db), sa + sb)
end

-- -1 / 1 as the order key (offset a, entry id a) comes before / after (offset b, id b); 0 when equal.
local function key_order(aoff, aid, boff, bid)
  if aoff ~= boff then return (aoff < boff) and -1 or 1 end
  if aid == bid then return 0 end
  local ams, aseq = parse_id(aid)
  local bms, bseq = parse_id(bid)
  return id_order(ams, aseq, bms, bseq)
end

local function candle_of(raw)
  if not raw then return nil end
  local p, n = {}, 0
  for part in string.gmatch(raw, '([^|]*)|?') do
    n = n + 1
    p[n] = part
    if n == 11 then break end
  end
  return {o = p[1], oo = tonumber(p[2]), oid = p[3], h = p[4], hp = tonumber(p[4]), l = p[5], lp = tonumber(p[5]),
    c = p[6], co = tonumber(p[7]), cid = p[8], v = p[9], q = p[10], n = tonumber(p[11])}
end

local function candle_value(c)
  return table.concat({c.o, c.oo, c.oid, c.h, c.l, c.c, c.co, c.cid, c.v, c.q, c.n}, '|')
end

-- Tick `t` (offset `off` in candle `c`, or a new candle when `c` is nil); counts its qty if `counting`.
local function candle_merge(c, t, off, counting)
  if not c then
    c = {o = t.price, oo = off, oid = t.id, h = t.price, hp = t.p, l = t.price, lp = t.p, c = t.price, co = off,
      cid = t.id, v = '0', q = '0', n = 0}
  else
    if key_order(off, t.id, c.oo, c.oid) < 0 then c.o, c.oo, c.oid = t.price, off, t.id end
    if key_order(off, t.id, c.co, c.cid) > 0 then c.c, c.co, c.cid = t.price, off, t.id end
    if t.p > c.hp then c.h, c.hp = t.price, t.p end
    if t.p < c.lp then c.l, c.lp = t.price, t.p end
  end
  if counting then
    c.v, c.q, c.n = dec_add(c.v, t.qty), dec_add(c.q, dec_mul(t.qty, t.price)), c.n + 1
  end
  return c
end

-- The candles of one call: `k` holds candles, counted and candle_events; with market "" (a shard other
-- than shard 0) nothing is kept.
local function candles_open(k, market)
  return {k = k, copy = market == '', ticks = {}}
end

local function candles_add(cs, t)
  if not cs.copy then cs.ticks[#cs.ticks + 1] = t end
end

-- The ids of the prints of this call not counted yet (recorded now), as a set.
local function candles_fresh(cs)
  local prints, seen, fresh = {}, {}, {}
  for _, t in ipairs(cs.ticks) do
    if t.qty ~= '' and not seen[t.id] then
      seen[t.id] = true
      prints[#prints + 1] = t.id
    end
  end
  if #prints == 0 then return fresh end
  local scores, add = redis.call('ZMSCORE', cs.k.counted, unpack(prints)), {}
  for i, id in ipairs(prints) do
    if not scores[i] then
      fresh[id] = true
      add[#add + 1] = string.match(id, '^(%d+)')
      add[#add + 1] = id
    end
  end
  if #add > 0 then redis.call('ZADD', cs.k.counted, unpack(add)) end
  return fresh
end

-- Applies the ticks added to the stored candles; emits candle.updated for the newest 1m candle touched.
local function candles_flush(cs, sym, maxlen)
  if cs.copy or #cs.ticks == 0 then return end
  local fields, at = {'1m:first', '1h:first', '1d:first'}, {}
  local lowest = {}
  for _, t in ipairs(cs.ticks) do
    local ts = tonumber(t.ts)
    for r, res in ipairs(CANDLE_RES) do
      local i = math.floor(ts / res[2])
      local f = res[1] .. ':' .. i
      if not at[f] then
        fields[#fields + 1] = f
        at[f] = {pos = #fields, start = i * res[2]}
      end
      if not lowest[r] or i < lowest[r] then lowest[r] = i end
    end
  end
  local stored = redis.call('HMGET', cs.k.candles, unpack(fields))
  local fresh, live = candles_fresh(cs), {}
  for _, t in ipairs(cs.ticks) do
    local ts, counting = tonumber(t.ts), fresh[t.id]
    fresh[t.id] = nil  -- the same entry twice in one call counts once
    for _, res in ipairs(CANDLE_RES) do
      local f = res[1] .. ':' .. math.floor(ts / res[2])
      local a = at[f]
      local c = live[f]
      if not c then c = candle_of(stored[a.pos] or nil) end
      live[f] = candle_merge(c, t, ts - a.start, counting)
    end
  end
  local writes, newest = {}, nil
  for f, c in pairs(live) do
    writes[#writes + 1] = f
    writes[#writes + 1] = candle_value(c)
    if string.sub(f, 1, 3) == '1m:' and (not newest or at[f].start > at[newest].start) then newest = f end
  end
  for r, res in ipairs(CANDLE_RES) do
    local first = tonumber(stored[r] or nil)
    if not first or lowest[r] < first then
      writes[#writes + 1] = res[1] .. ':first'
      writes[#writes + 1] = tostring(lowest[r])
    end
  end
  redis.call('HSET', cs.k.candles, unpack(writes))
  local c = live[newest]
  redis.call('XADD', cs.k.candle_events, 'MAXLEN', '~', maxlen, '*', 'type', 'candle.updated', 'data',
    cjson.encode({symbol = sym, timeframe = '1m', ts = tostring(at[newest].start), open = c.o, high = c.h,
      low = c.l, close = c.c, volume = c.v, quoteVolume = c.q, count = tostring(c.n)}))
end
