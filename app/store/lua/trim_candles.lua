--[[ trim_candles: drop the candles of one symbol older than the retention of their resolution, in chunks.

Each resolution's fields are <res>:<i>; <res>:first is the oldest i that may be held (the settle calls
lower it when they write an older candle). The call deletes, per resolution, the fields from first up to
the cutoff, at most `chunk` of them, and moves first past them, so a call stays short however far behind
the trim is.

KEYS[1]  candles       {ns}:candles:<SYMBOL>

ARGV[1]  chunk         most fields one resolution's trim looks at in this call
ARGV[2…] cutoffs       for 1m, 1h, 1d: the oldest i to keep (ts of the cutoff // interval)

Returns {code, removed, more}:
  0  OK        `removed` candles deleted; `more` is 1 when a resolution stopped at its chunk.
]]

local key, chunk = KEYS[1], tonumber(ARGV[1])
local removed, more = 0, 0
for r, res in ipairs({'1m', '1h', '1d'}) do
  local cutoff = tonumber(ARGV[1 + r])
  local first = tonumber(redis.call('HGET', key, res .. ':first') or nil)
  if first and first < cutoff then
    local upto = math.min(cutoff, first + chunk)
    local fields = {}
    for i = first, upto - 1 do fields[#fields + 1] = res .. ':' .. i end
    removed = removed + redis.call('HDEL', key, unpack(fields))
    redis.call('HSET', key, res .. ':first', tostring(upto))
    if upto < cutoff then more = 1 end
  end
end
return {0, removed, more}
