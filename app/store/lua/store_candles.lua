--[[ store_candles: store imported (backfilled) candles of one symbol without replaying ticks.

Each row is written only where no candle of its resolution is held (a live or earlier import wins), so
importing twice changes nothing. A backfilled candle comes before every live tick in it (oo = 0 and co =
-1 with entry ids "0-0", see lib/candles.lua): it keeps its open, a live tick in it takes the close, and
the rest merges by the same rules (max, min, sums); its quote volume is volume × close (a file has none) and its count 0. Then every coarser candle
the rows fall in is recomputed from the finer ones held (1h from its 60 minutes, 1d from its 24 hours),
so each resolution stays the aggregate of the finer one.

KEYS[1]  candles       {ns}:candles:<SYMBOL>

ARGV[1]  resolution    1m, 1h or 1d: what the rows are
ARGV[2…] rows          6 values each: i (open time // interval), open, high, low, close, volume

Returns {code, stored}:
  0  OK        `stored` rows written (the others were held already).
]]

--@include lib/uint.lua
--@include lib/events.lua
--@include lib/ticker.lua
--@include lib/candles.lua

local key, res = KEYS[1], ARGV[1]
local LEN = {['1m'] = 60000, ['1h'] = 3600000}
local NEXT = {['1m'] = {'1h', 60}, ['1h'] = {'1d', 24}}

-- The oldest index held at `r` lowered to `i` if needed.
local function lower_first(r, i)
  local first = tonumber(redis.call('HGET', key, r .. ':first') or nil)
  if not first or i < first then redis.call('HSET', key, r .. ':first', tostring(i)) end
end

-- Recomputes candle `i` of resolution `coarse` from its `per` candles of resolution `fine`.
local function recompute(fine, coarse, per, i)
  local fields, flen = {}, LEN[fine]
  for j = i * per, i * per + per - 1 do fields[#fields + 1] = fine .. ':' .. j end
  local held, agg = redis.call('HMGET', key, unpack(fields)), nil
  for n = 1, per do
    local c = candle_of(held[n] or nil)
    if c then
      local shift = (n - 1) * flen
      if not agg then
        agg = c
        agg.oo, agg.co = c.oo + shift, c.co + shift
      else
        agg.c, agg.co, agg.cid = c.c, c.co + shift, c.cid
        if c.hp > agg.hp then agg.h, agg.hp = c.h, c.hp end
        if c.lp < agg.lp then agg.l, agg.lp = c.l, c.lp end
        agg.v, agg.q, agg.n = dec_add(agg.v, c.v), dec_add(agg.q, c.q), agg.n + c.n
      end
    end
  end
  if agg then redis.call('HSET', key, coarse .. ':' .. i, candle_value(agg)) end
end

local stored, touched, lowest = 0, {}, nil
for a = 2, #ARGV, 6 do
  local i = tonumber(ARGV[a])
  local o, h, l, c, v = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local value = table.concat({o, 0, '0-0', h, l, c, -1, '0-0', v, dec_mul(v, c), 0}, '|')
  stored = stored + redis.call('HSETNX', key, res .. ':' .. i, value)
  touched[i] = true
  if not lowest or i < lowest then lowest = i end
end
if lowest then lower_first(res, lowest) end
local level = res
while NEXT[level] do
  local coarse, per = NEXT[level][1], NEXT[level][2]
  local up, low = {}, nil
  for i in pairs(touched) do
    local j = math.floor(i / per)
    if not up[j] then
      up[j] = true
      recompute(level, coarse, per, j)
      if not low or j < low then low = j end
    end
  end
  if low then lower_first(coarse, low) end
  touched, level = up, coarse
end
return {0, stored}
