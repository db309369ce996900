-- The ticker and its hourly 24 h buckets take a run of ticks of one symbol. Shared by settle_tick (a run
-- of one) and settle_batch (the ticks of a batch that cross nothing).
--
-- Every step is idempotent and order-insensitive, so a redelivered or reordered tick changes nothing:
--   * the ticker takes the newest tick of the run, and only if its entry id is newer than the one shown;
--   * each hourly bucket keeps max / min / first-by-id / last-by-id of the prices that fall in its hour;
--     a tick more than 24 h older than the ticker's time is left out, and a new hour deletes buckets
--     older than 24 h.
-- A run has exactly the effect of its ticks applied one at a time, in the order given.
-- Needs lib/events.lua.

local HOUR = 3600000

-- A stream entry id "ms-seq" as two numbers (ms fits a double exactly for millions of years).
local function parse_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

-- -1, 0 or 1 as entry id (ams, aseq) is older than, the same as or newer than (bms, bseq).
local function id_order(ams, aseq, bms, bseq)
  if ams ~= bms then return (ams < bms) and -1 or 1 end
  if aseq ~= bseq then return (aseq < bseq) and -1 or 1 end
  return 0
end

local function id_cmp(a, b)
  local ams, aseq = parse_id(a)
  local bms, bseq = parse_id(b)
  return id_order(ams, aseq, bms, bseq)
end

-- A tick from the ARGV of a script: 8 values from position `i`.
local function tick_at(i)
  local id = ARGV[i]
  local ms, seq = parse_id(id)
  return {
    id = id, ms = ms, seq = seq, price = ARGV[i + 1], bid = ARGV[i + 2], ask = ARGV[i + 3], ts = ARGV[i + 4],
    volume = ARGV[i + 5], bid_qty = ARGV[i + 6], ask_qty = ARGV[i + 7],
  }
end

-- Reads the hash at `key` into a table field -> value.
local function hash_table(key)
  local flat, out = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end

-- Applies `ticks` (tables from tick_at, at least one, in the order given) to the ticker and the hourly
-- buckets exactly as applying them one at a time would, but reading and writing each hash once; registers
-- the market on a symbol's first price, and emits one ticker.updated when anything changed (with the
-- ticker as it stands after the run). Returns true when the run moved the ticker.
local function apply_ticks(k, sym, market, channel, maxlen, ticks)
  local shown = redis.call('HMGET', k.ticker, 'id', 'ts')
  -- a symbol with a ticker has its market (both are permanent and written together): only the first
  -- price of a symbol needs the check
  if not shown[1] and redis.call('HSETNX', k.markets, sym, market) == 1 then
    emit(k.events, channel, maxlen, 'market.created', '{"market":' .. market .. '}')
  end
  local newest, nms, nseq, newest_ts = nil, nil, nil, shown[2]
  if shown[1] then nms, nseq = parse_id(shown[1]) end
  local buckets = nil  -- the ohlc hash, read when the first tick falls in the 24 h window
  local set, gone = {}, {}  -- fields written, fields deleted
  local function put(field, value) buckets[field] = value; set[field] = value; gone[field] = nil end

  for _, t in ipairs(ticks) do
    if not nms or id_order(t.ms, t.seq, nms, nseq) > 0 then newest, nms, nseq, newest_ts = t, t.ms, t.seq, t.ts end
    local hour = math.floor(tonumber(t.ts) / HOUR)
    if hour >= math.floor(tonumber(newest_ts or t.ts) / HOUR) - 24 then
      buckets = buckets or hash_table(k.ohlc)
      local f = hour .. ':'
      if not buckets[f .. 'oid'] then
        put(f .. 'o', t.price); put(f .. 'oid', t.id); put(f .. 'h', t.price); put(f .. 'l', t.price)
        put(f .. 'c', t.price); put(f .. 'cid', t.id)
        local oldest = hour - 24  -- a new hour: drop the buckets that left the window
        for field in pairs(buckets) do
          if tonumber(string.match(field, '^(%d+):')) < oldest then
            buckets[field] = nil; set[field] = nil; gone[field] = true
          end
        end
      else
        local p = tonumber(t.price)
        if id_cmp(t.id, buckets[f .. 'oid']) < 0 then put(f .. 'o', t.price); put(f .. 'oid', t.id) end
        if id_cmp(t.id, buckets[f .. 'cid']) > 0 then put(f .. 'c', t.price); put(f .. 'cid', t.id) end
        if p > tonumber(buckets[f .. 'h']) then put(f .. 'h', t.price) end
        if p < tonumber(buckets[f .. 'l']) then put(f .. 'l', t.price) end
      end
    end
  end

  local changed = newest ~= nil
  if newest then
    redis.call('HSET', k.ticker, 'id', newest.id, 'last', newest.price, 'bid', newest.bid, 'ask', newest.ask,
      'ts', newest.ts, 'volume', newest.volume, 'bidVolume', newest.bid_qty, 'askVolume', newest.ask_qty)
  end
  local writes, deletes = {}, {}
  for field, value in pairs(set) do writes[#writes + 1] = field; writes[#writes + 1] = value end
  for field in pairs(gone) do deletes[#deletes + 1] = field end
  if #writes > 0 then redis.call('HSET', k.ohlc, unpack(writes)); changed = true end
  if #deletes > 0 then redis.call('HDEL', k.ohlc, unpack(deletes)); changed = true end

  if changed then
    local t = newest and {newest.id, newest.price, newest.bid, newest.ask, newest.ts, newest.volume,
      newest.bid_qty, newest.ask_qty}
    if not t then
      t = redis.call('HMGET', k.ticker, 'id', 'last', 'bid', 'ask', 'ts', 'volume', 'bidVolume', 'askVolume')
    end
    emit(k.events, channel, maxlen, 'ticker.updated', cjson.encode({
      symbol = sym, id = t[1], last = t[2], bid = t[3], ask = t[4], ts = t[5], volume = t[6],
      bidVolume = t[7], askVolume = t[8],
    }))
  end
  return newest ~= nil
end
