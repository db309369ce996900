-- The ticker and its hourly 24 h buckets take the ticks of one symbol. Shared by settle_tick (one tick)
-- and settle_batch (a run of ticks).
--
-- Every step is idempotent and order-insensitive, so a redelivered or reordered tick changes nothing:
--   * the ticker takes the newest tick of the run, and only if its entry id is newer than the one shown;
--   * each hourly bucket keeps max / min / first-by-(ts, id) / last-by-id of the prices that fall in its hour
--     (the open as the 1h candle's, lib/candles.lua, so the 24 h open, high and low are the candles');
--     a tick more than 24 h older than the ticker's time is left out, and a new hour deletes buckets
--     older than 24 h;
--   * the ticker's 24 h statistics (open, high, low of the buckets of the 24 hours ending with the hour
--     of its ts) are a function of the ticker and the buckets, kept up to date by every flush: widened by
--     the buckets a call changed while the window stays, recomputed from every bucket when it moves.
-- Ticks added together have exactly the effect of the same ticks applied one call at a time, in order.
-- A tick reads only its own hour's bucket; the whole ohlc hash is read once per call at most, when a new
-- hour starts or the window moves. Needs lib/events.lua.

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

-- The values of one tick in a script's ARGV: entry id, price, bid, ask, ts, volume, bid qty, ask qty,
-- qty, bids, asks (app/engine/ticks.py: Tick.settle_values, after the entry id).
local TICK_VALUES = 11

-- A tick from the ARGV of a script: TICK_VALUES values from position `i`.
local function tick_at(i)
  local id, price, ts = ARGV[i], ARGV[i + 1], ARGV[i + 4]
  local ms, seq = parse_id(id)
  return {
    id = id, ms = ms, seq = seq, price = price, p = tonumber(price), bid = ARGV[i + 2], ask = ARGV[i + 3],
    ts = ts, hour = math.floor(tonumber(ts) / HOUR), volume = ARGV[i + 5], bid_qty = ARGV[i + 6],
    ask_qty = ARGV[i + 7], qty = ARGV[i + 8], bids = ARGV[i + 9], asks = ARGV[i + 10],
  }
end

-- Reads the hash at `key` into a table field -> value.
local function hash_table(key)
  local flat, out = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end

-- A bucket from its stored values (o, oid, h, l, c, cid, ots), or nil when it has none. `ots` is the ts of
-- the open tick (the open is the first tick by (ts, entry id), as a candle's: the ticker's 24 h open and
-- the candles agree); a bucket written before it was kept counts its open at its entry id's time.
local function bucket_of(o, oid, h, l, c, cid, ots)
  if not oid then return nil end
  local oms, oseq = parse_id(oid)
  local cms, cseq = parse_id(cid)
  return {
    o = o, oid = oid, oms = oms, oseq = oseq, ots = tonumber(ots) or oms, c = c, cid = cid, cms = cms, cseq = cseq,
    h = h, hp = tonumber(h), l = l, lp = tonumber(l), dirty = false,
  }
end

-- The bucket of `hour` as stored in `raw` (the ohlc hash as a table), or nil.
local function stored_bucket(raw, hour)
  local f = hour .. ':'
  return bucket_of(raw[f .. 'o'], raw[f .. 'oid'], raw[f .. 'h'], raw[f .. 'l'], raw[f .. 'c'], raw[f .. 'cid'],
    raw[f .. 'ots'])
end

-- The bucket of `hour` read from the ohlc hash at `key` (its seven fields only), or nil.
local function read_bucket(key, hour)
  local f = hour .. ':'
  local v = redis.call('HMGET', key, f .. 'o', f .. 'oid', f .. 'h', f .. 'l', f .. 'c', f .. 'cid', f .. 'ots')
  return bucket_of(v[1] or nil, v[2] or nil, v[3] or nil, v[4] or nil, v[5] or nil, v[6] or nil, v[7] or nil)
end

-- Tick `t` into bucket `b` of its hour: first by (ts, entry id) as a candle's open, last by entry id,
-- highest and lowest price.
local function add_to_bucket(b, t)
  local ts = tonumber(t.ts)
  if ts < b.ots or (ts == b.ots and id_order(t.ms, t.seq, b.oms, b.oseq) < 0) then
    b.o, b.oid, b.oms, b.oseq, b.ots, b.dirty = t.price, t.id, t.ms, t.seq, ts, true
  end
  if id_order(t.ms, t.seq, b.cms, b.cseq) > 0 then
    b.c, b.cid, b.cms, b.cseq, b.dirty = t.price, t.id, t.ms, t.seq, true
  end
  if t.p > b.hp then b.h, b.hp, b.dirty = t.price, t.p, true end
  if t.p < b.lp then b.l, b.lp, b.dirty = t.price, t.p, true end
end

local function new_bucket(t)
  return {
    o = t.price, oid = t.id, oms = t.ms, oseq = t.seq, ots = tonumber(t.ts), c = t.price, cid = t.id, cms = t.ms,
    cseq = t.seq,
    h = t.price, hp = t.p, l = t.price, lp = t.p, dirty = true,
  }
end

-- The 24 h statistics as stored in the ticker hash (HMGET of open, high, low, openHour), or nil when the
-- ticker has none yet (a ticker written before they were kept).
local function stored_stats(open, high, low, open_hour)
  if not open then return nil end
  if open == '' then return {stored = {'', '', '', ''}} end
  return {
    open = open, high = high, hp = tonumber(high), low = low, lp = tonumber(low), open_hour = tonumber(open_hour),
    stored = {open, high, low, open_hour},
  }
end

-- The ticker and buckets of one symbol while a script applies ticks to them: read once, changed in memory,
-- written by ticker_flush. `k` holds the keys ticker, ohlc, markets, events. Registers the market on a
-- symbol's first price. With `market` "" the shard holds only a copy of the ticker (a shard other than
-- shard 0, which keeps the market data): no market, no buckets, no statistics, no ticker.updated; ohlc
-- and markets are never touched.
local function ticker_open(k, sym, market, channel, maxlen)
  local shown = redis.call('HMGET', k.ticker, 'id', 'ts', 'open', 'high', 'low', 'openHour')
  -- a symbol with a ticker has its market (both are permanent and written together): only the first
  -- price of a symbol needs the check
  if market ~= '' and not shown[1] and redis.call('HSETNX', k.markets, sym, market) == 1 then
    emit(k.events, channel, maxlen, 'market.created', '{"market":' .. market .. '}')
  end
  local hour = shown[2] and math.floor(tonumber(shown[2]) / HOUR)
  local st = {
    k = k, sym = sym, channel = channel, maxlen = maxlen,
    newest = nil,         -- the newest tick added, if newer than the ticker shown
    written = nil,        -- the newest tick written to the ticker hash
    hour = hour,          -- hour of the ticker's time
    raw = nil,            -- the ohlc hash as a table, read when a new hour starts or the window moves
    live = {},            -- hour -> bucket in memory
    gone = {},            -- fields to delete
    dropped = {},         -- hours of the buckets deleted by this call
    stats = stored_stats(shown[3] or nil, shown[4] or nil, shown[5] or nil, shown[6] or nil),
    stats_hour = hour,    -- the last hour of the window the statistics are of
    copy = market == '',  -- only the ticker itself (a shard's copy)
  }
  if shown[1] then st.ms, st.seq = parse_id(shown[1]) end
  return st
end

-- Adds tick `t` (from tick_at); returns true when it is newer than the ticker (settle it in normal
-- mode), false when it is not (late mode). The same as applying the tick to the stored hashes.
local function ticker_add(st, t)
  local newer = not st.ms or id_order(t.ms, t.seq, st.ms, st.seq) > 0
  if newer then st.newest, st.ms, st.seq, st.hour = t, t.ms, t.seq, t.hour end
  if st.copy then return newer end
  local hour = t.hour
  if hour < (st.hour or hour) - 24 then return newer end
  local live, b = st.live, st.live[hour]
  if not b then
    -- once the hash is read, deletions may be pending: the table is the truth, the store not yet
    if st.raw then b = stored_bucket(st.raw, hour) else b = read_bucket(st.k.ohlc, hour) end
    if not b then
      b = new_bucket(t)
      st.raw = st.raw or hash_table(st.k.ohlc)
      local raw, oldest = st.raw, hour - 24  -- a new hour: buckets older than 24 h leave the window
      for field in pairs(raw) do
        local h = tonumber(string.match(field, '^(%d+):'))
        if h < oldest then raw[field] = nil; st.gone[#st.gone + 1] = field; st.dropped[h] = true end
      end
      for h in pairs(live) do
        if h < oldest then live[h] = nil; st.dropped[h] = true end
      end
    end
    live[hour] = b
  end
  add_to_bucket(b, t)
  return newer
end

-- The statistics of the window ending with hour `top`, from every bucket (the ohlc hash as a table).
local function stats_from(raw, top)
  local s, bottom = {}, top - 23
  for field, v in pairs(raw) do
    local h, part = string.match(field, '^(%d+):(%a+)$')
    h = tonumber(h)
    if h >= bottom and h <= top then
      if not s.open_hour or h < s.open_hour then s.open_hour = h end
      if part == 'h' then
        local p = tonumber(v)
        if not s.hp or p > s.hp then s.high, s.hp = v, p end
      elseif part == 'l' then
        local p = tonumber(v)
        if not s.lp or p < s.lp then s.low, s.lp = v, p end
      end
    end
  end
  if s.open_hour then s.open = raw[s.open_hour .. ':o'] end
  return s
end

-- The statistics `s` (of the window ending with hour `top`) widened by the buckets in memory, which are
-- the stored ones changed since: a bucket only widens, so max / min stay exact, and open comes from the
-- oldest bucket of the window.
local function stats_widened(s, live, top)
  local bottom = top - 23
  local w = {open = s.open, open_hour = s.open_hour, high = s.high, hp = s.hp, low = s.low, lp = s.lp}
  for h, b in pairs(live) do
    if h >= bottom and h <= top then
      if not w.hp or b.hp > w.hp then w.high, w.hp = b.h, b.hp end
      if not w.lp or b.lp < w.lp then w.low, w.lp = b.l, b.lp end
      if not w.open_hour or h < w.open_hour then w.open_hour = h end
    end
  end
  if w.open_hour and live[w.open_hour] then w.open = live[w.open_hour].o end
  return w
end

-- The statistics after this call's changes (the buckets are written already); the ticker fields to
-- write for them are appended to `writes`.
local function stats_update(st, writes)
  local top, s = st.hour, st.stats
  local moved = not s or top ~= st.stats_hour
  if not moved then
    for h in pairs(st.dropped) do
      if h >= top - 23 and h <= top then moved = true end
    end
  end
  if moved then
    st.raw = st.raw or hash_table(st.k.ohlc)
    s = stats_from(st.raw, top)
  else
    s = stats_widened(s, st.live, top)
  end
  s.stored = {s.open or '', s.high or '', s.low or '', s.open_hour and tostring(s.open_hour) or ''}
  local old = st.stats and st.stats.stored
  if not old or old[1] ~= s.stored[1] or old[2] ~= s.stored[2] or old[3] ~= s.stored[3] or old[4] ~= s.stored[4] then
    for i, f in ipairs({'open', 'high', 'low', 'openHour'}) do
      writes[#writes + 1] = f
      writes[#writes + 1] = s.stored[i]
    end
  end
  st.stats, st.stats_hour, st.dropped = s, top, {}
end

-- Writes what changed since the last flush, and emits one ticker.updated (the ticker as it stands) if
-- anything did.
local function ticker_flush(st)
  local k, changed, newest, writes = st.k, false, st.newest, {}
  if newest and newest ~= st.written then
    writes = {'id', newest.id, 'last', newest.price, 'bid', newest.bid, 'ask', newest.ask, 'ts', newest.ts,
      'volume', newest.volume, 'bidVolume', newest.bid_qty, 'askVolume', newest.ask_qty}
    st.written, changed = newest, true
  end
  if st.copy then
    if changed then redis.call('HSET', k.ticker, unpack(writes)) end
    return
  end
  if #st.gone > 0 then  -- before an hour that left comes back
    redis.call('HDEL', k.ohlc, unpack(st.gone))
    st.gone, changed = {}, true
  end
  local buckets = {}
  for hour, b in pairs(st.live) do
    if b.dirty then
      local f = hour .. ':'
      for _, v in ipairs({f .. 'o', b.o, f .. 'oid', b.oid, f .. 'h', b.h, f .. 'l', b.l, f .. 'c', b.c,
        f .. 'cid', b.cid, f .. 'ots', string.format('%.0f', b.ots)}) do
        buckets[#buckets + 1] = v
      end
      b.dirty = false
    end
  end
  if #buckets > 0 then
    redis.call('HSET', k.ohlc, unpack(buckets))
    if st.raw then
      for i = 1, #buckets, 2 do st.raw[buckets[i]] = buckets[i + 1] end  -- so a later trim finds them
    end
    changed = true
  end
  if st.hour and (changed or not st.stats) then stats_update(st, writes) end
  if #writes > 0 then redis.call('HSET', k.ticker, unpack(writes)) end
  if not changed then return end
  local t = newest and {newest.id, newest.price, newest.bid, newest.ask, newest.ts, newest.volume,
    newest.bid_qty, newest.ask_qty}
  if not t then
    t = redis.call('HMGET', k.ticker, 'id', 'last', 'bid', 'ask', 'ts', 'volume', 'bidVolume', 'askVolume')
  end
  emit(k.events, st.channel, st.maxlen, 'ticker.updated', cjson.encode({
    symbol = st.sym, id = t[1], last = t[2], bid = t[3], ask = t[4], ts = t[5], volume = t[6],
    bidVolume = t[7], askVolume = t[8],
  }))
end
