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

-- Exact running sums of one call: a fast part (a mantissa below 2^53 and its scale, plain double
-- arithmetic, exact) that spills into a decimal string whenever a step would leave the exact range.
local TWO53 = 9007199254740992

local function fast_num(s)
  local i, f = string.match(s, '^(%d*)%.?(%d*)$')
  if #i + #f > 15 then return nil end
  return tonumber(i .. f) or 0, #f
end

local function acc_new() return {m = 0, s = 0, big = '0'} end

local function acc_spill(acc)
  if acc.m ~= 0 then acc.big = dec_add(acc.big, dec_str(string.format('%.0f', acc.m), acc.s)) end
  acc.m, acc.s = 0, 0
end

-- Adds m / 10^s (from fast_num), or the decimal string `text` when m is nil or the fast part would leave
-- the exact range.
local function acc_add(acc, m, s, text)
  if m then
    local am, as = acc.m, acc.s
    if math.abs(s - as) <= 22 then
      local bm = m
      if s < as then bm = m * 10 ^ (as - s) elseif s > as then am = am * 10 ^ (s - as); as = s end
      if am < TWO53 and bm < TWO53 and am + bm < TWO53 then acc.m, acc.s = am + bm, as; return end
    end
    text = text or dec_str(string.format('%.0f', m), s)
  end
  acc_spill(acc)
  acc.big = dec_add(acc.big, text)
end

local function acc_value(acc)
  acc_spill(acc)
  return acc.big
end

-- The candle stored as `raw`, or nil.
local function candle_of(raw)
  if not raw then return nil end
  local p, n = {}, 0
  for part in string.gmatch(raw, '([^|]*)|?') do
    n = n + 1
    p[n] = part
    if n == 11 then break end
  end
  local c = {o = p[1], oo = tonumber(p[2]), oid = p[3], h = p[4], hp = tonumber(p[4]), l = p[5], lp = tonumber(p[5]),
    c = p[6], co = tonumber(p[7]), cid = p[8], v = p[9], q = p[10], n = tonumber(p[11])}
  c.oms, c.oseq = parse_id(c.oid)
  c.cms, c.cseq = parse_id(c.cid)
  return c
end

local function candle_value(c)
  return table.concat({c.o, c.oo, c.oid, c.h, c.l, c.c, c.co, c.cid, c.v, c.q, c.n}, '|')
end

-- Tick `t` at offset `off` into candle `c` (nil: a new one): open / close by (offset, entry id), max, min.
local function candle_merge(c, t, off)
  if not c then
    return {o = t.price, oo = off, oid = t.id, oms = t.ms, oseq = t.seq, h = t.price, hp = t.p, l = t.price, lp = t.p,
      c = t.price, co = off, cid = t.id, cms = t.ms, cseq = t.seq, v = '0', q = '0', n = 0}
  end
  if off < c.oo or (off == c.oo and id_order(t.ms, t.seq, c.oms, c.oseq) < 0) then
    c.o, c.oo, c.oid, c.oms, c.oseq = t.price, off, t.id, t.ms, t.seq
  end
  if off > c.co or (off == c.co and id_order(t.ms, t.seq, c.cms, c.cseq) > 0) then
    c.c, c.co, c.cid, c.cms, c.cseq = t.price, off, t.id, t.ms, t.seq
  end
  if t.p > c.hp then c.h, c.hp = t.price, t.p end
  if t.p < c.lp then c.l, c.lp = t.price, t.p end
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

-- Candle `m` (a finer candle opened `shift` ms after `c`'s open) merged into candle `c` (nil: a new one).
local function candle_fold(c, m, shift)
  local oo, co = m.oo + shift, m.co + shift
  if not c then
    return {o = m.o, oo = oo, oid = m.oid, oms = m.oms, oseq = m.oseq, h = m.h, hp = m.hp, l = m.l, lp = m.lp,
      c = m.c, co = co, cid = m.cid, cms = m.cms, cseq = m.cseq, v = '0', q = '0', n = 0}
  end
  if oo < c.oo or (oo == c.oo and id_order(m.oms, m.oseq, c.oms, c.oseq) < 0) then
    c.o, c.oo, c.oid, c.oms, c.oseq = m.o, oo, m.oid, m.oms, m.oseq
  end
  if co > c.co or (co == c.co and id_order(m.cms, m.cseq, c.cms, c.cseq) > 0) then
    c.c, c.co, c.cid, c.cms, c.cseq = m.c, co, m.cid, m.cms, m.cseq
  end
  if m.hp > c.hp then c.h, c.hp = m.h, m.hp end
  if m.lp < c.lp then c.l, c.lp = m.l, m.lp end
  return c
end

-- The candle entries (field, HMGET position, open time, sums of this call) of one call, by field.
local function candle_entry(at, fields, res, i)
  local f = res[1] .. ':' .. i
  local a = at[f]
  if not a then
    fields[#fields + 1] = f
    a = {f = f, pos = #fields, start = i * res[2], v = acc_new(), q = acc_new(), n = 0}
    at[f] = a
  end
  return a
end

-- Applies the ticks added to the stored candles: each tick goes into its 1m candle, then each 1m candle
-- touched is folded into its 1h and 1d candles (a finer candle holds a subset of the coarser one's ticks,
-- and max / min / first / last are idempotent), with this call's volume added once to each.
-- Emits candle.updated for the newest 1m candle touched.
local function candles_flush(cs, sym, maxlen)
  if cs.copy or #cs.ticks == 0 then return end
  local fields, at, minutes, lowest = {'1m:first', '1h:first', '1d:first'}, {}, {}, {}
  local last_i, last_a
  for _, t in ipairs(cs.ticks) do
    local i = math.floor(tonumber(t.ts) / 60000)
    if i ~= last_i then
      last_i, last_a = i, at['1m:' .. i]
      if not last_a then
        last_a = candle_entry(at, fields, CANDLE_RES[1], i)
        minutes[#minutes + 1] = last_a
        last_a.up = {}
        for r = 2, 3 do
          local j = math.floor(i * 60000 / CANDLE_RES[r][2])
          last_a.up[r - 1] = candle_entry(at, fields, CANDLE_RES[r], j)
          if not lowest[r] or j < lowest[r] then lowest[r] = j end
        end
        if not lowest[1] or i < lowest[1] then lowest[1] = i end
      end
    end
    t.minute = last_a
  end
  local stored = redis.call('HMGET', cs.k.candles, unpack(fields))
  for _, a in pairs(at) do a.c = candle_of(stored[a.pos] or nil) end
  local fresh = candles_fresh(cs)
  for _, t in ipairs(cs.ticks) do
    local a = t.minute
    a.c = candle_merge(a.c, t, tonumber(t.ts) - a.start)
    if fresh[t.id] then
      fresh[t.id] = nil  -- the same entry twice in one call counts once
      local qm, qs = fast_num(t.qty)
      local pm, ps = fast_num(t.price)
      acc_add(a.v, qm, qs, t.qty)
      if qm and pm and qm * pm < TWO53 then acc_add(a.q, qm * pm, qs + ps) else acc_add(a.q, nil, 0, dec_mul(t.qty, t.price)) end
      a.n = a.n + 1
    end
  end
  local writes, newest = {}, nil
  for _, a in ipairs(minutes) do
    local v, q = acc_value(a.v), acc_value(a.q)
    for _, u in ipairs(a.up) do
      u.c = candle_fold(u.c, a.c, a.start - u.start)
      if a.n > 0 then u.v.big, u.n = dec_add(u.v.big, v), u.n + a.n; u.q.big = dec_add(u.q.big, q) end
    end
    a.v.big, a.q.big = v, q
    if not newest or a.start > newest.start then newest = a end
  end
  for f, a in pairs(at) do
    local c = a.c
    if a.n > 0 then c.v, c.q, c.n = dec_add(c.v, a.v.big), dec_add(c.q, a.q.big), c.n + a.n end
    writes[#writes + 1] = f
    writes[#writes + 1] = candle_value(c)
  end
  for r, res in ipairs(CANDLE_RES) do
    local first = tonumber(stored[r] or nil)
    if not first or lowest[r] < first then
      writes[#writes + 1] = res[1] .. ':first'
      writes[#writes + 1] = tostring(lowest[r])
    end
  end
  redis.call('HSET', cs.k.candles, unpack(writes))
  local c = newest.c
  redis.call('XADD', cs.k.candle_events, 'MAXLEN', '~', maxlen, '*', 'type', 'candle.updated', 'data',
    cjson.encode({symbol = sym, timeframe = '1m', ts = tostring(newest.start), open = c.o, high = c.h,
      low = c.l, close = c.c, volume = c.v, quoteVolume = c.q, count = tostring(c.n)}))
end
