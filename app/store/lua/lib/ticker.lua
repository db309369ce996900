-- The ticker and its hourly 24 h buckets take the ticks of one symbol. Shared by settle_tick (one tick)
-- and settle_batch (a run of ticks).
--
-- Every step is idempotent and order-insensitive, so a redelivered or reordered tick changes nothing:
--   * the ticker takes the newest tick of the run, and only if its entry id is newer than the one shown;
--   * each hourly bucket keeps max / min / first-by-id / last-by-id of the prices that fall in its hour;
--     a tick more than 24 h older than the ticker's time is left out, and a new hour deletes buckets
--     older than 24 h.
-- Ticks added together have exactly the effect of the same ticks applied one call at a time, in order.
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

-- A tick from the ARGV of a script: 8 values from position `i`.
local function tick_at(i)
  local id, price, ts = ARGV[i], ARGV[i + 1], ARGV[i + 4]
  local ms, seq = parse_id(id)
  return {
    id = id, ms = ms, seq = seq, price = price, p = tonumber(price), bid = ARGV[i + 2], ask = ARGV[i + 3],
    ts = ts, hour = math.floor(tonumber(ts) / HOUR), volume = ARGV[i + 5], bid_qty = ARGV[i + 6],
    ask_qty = ARGV[i + 7],
  }
end

-- Reads the hash at `key` into a table field -> value.
local function hash_table(key)
  local flat, out = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end

-- The bucket of `hour` as stored in `raw` (the ohlc hash as a table), or nil.
local function stored_bucket(raw, hour)
  local f = hour .. ':'
  local oid, cid = raw[f .. 'oid'], raw[f .. 'cid']
  if not oid then return nil end
  local oms, oseq = parse_id(oid)
  local cms, cseq = parse_id(cid)
  local h, l = raw[f .. 'h'], raw[f .. 'l']
  return {
    o = raw[f .. 'o'], oid = oid, oms = oms, oseq = oseq, c = raw[f .. 'c'], cid = cid, cms = cms, cseq = cseq,
    h = h, hp = tonumber(h), l = l, lp = tonumber(l), dirty = false,
  }
end

-- Tick `t` into bucket `b` of its hour: first and last by entry id, highest and lowest price.
local function add_to_bucket(b, t)
  if id_order(t.ms, t.seq, b.oms, b.oseq) < 0 then
    b.o, b.oid, b.oms, b.oseq, b.dirty = t.price, t.id, t.ms, t.seq, true
  end
  if id_order(t.ms, t.seq, b.cms, b.cseq) > 0 then
    b.c, b.cid, b.cms, b.cseq, b.dirty = t.price, t.id, t.ms, t.seq, true
  end
  if t.p > b.hp then b.h, b.hp, b.dirty = t.price, t.p, true end
  if t.p < b.lp then b.l, b.lp, b.dirty = t.price, t.p, true end
end

local function new_bucket(t)
  return {
    o = t.price, oid = t.id, oms = t.ms, oseq = t.seq, c = t.price, cid = t.id, cms = t.ms, cseq = t.seq,
    h = t.price, hp = t.p, l = t.price, lp = t.p, dirty = true,
  }
end

-- The ticker and buckets of one symbol while a script applies ticks to them: read once, changed in memory,
-- written by ticker_flush. `k` holds the keys ticker, ohlc, markets, events. Registers the market on a
-- symbol's first price. With `market` "" the shard holds only a copy of the ticker (a shard other than
-- shard 0, which keeps the market data): no market, no buckets, no ticker.updated; ohlc and markets are
-- never touched.
local function ticker_open(k, sym, market, channel, maxlen)
  local shown = redis.call('HMGET', k.ticker, 'id', 'ts')
  -- a symbol with a ticker has its market (both are permanent and written together): only the first
  -- price of a symbol needs the check
  if market ~= '' and not shown[1] and redis.call('HSETNX', k.markets, sym, market) == 1 then
    emit(k.events, channel, maxlen, 'market.created', '{"market":' .. market .. '}')
  end
  local st = {
    k = k, sym = sym, channel = channel, maxlen = maxlen,
    newest = nil,         -- the newest tick added, if newer than the ticker shown
    written = nil,        -- the newest tick written to the ticker hash
    hour = shown[2] and math.floor(tonumber(shown[2]) / HOUR),  -- hour of the ticker's time
    raw = nil,            -- the ohlc hash as a table, read when a tick first falls in the 24 h window
    live = {},            -- hour -> bucket in memory
    gone = {},            -- fields to delete
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
    st.raw = st.raw or hash_table(st.k.ohlc)
    local raw = st.raw
    b = stored_bucket(raw, hour)
    if not b then
      b = new_bucket(t)
      local oldest = hour - 24  -- a new hour: buckets older than 24 h leave the window
      for field in pairs(raw) do
        if tonumber(string.match(field, '^(%d+):')) < oldest then raw[field] = nil; st.gone[#st.gone + 1] = field end
      end
      for h in pairs(live) do
        if h < oldest then live[h] = nil end
      end
    end
    live[hour] = b
  end
  add_to_bucket(b, t)
  return newer
end

-- Writes what changed since the last flush, and emits one ticker.updated (the ticker as it stands) if
-- anything did.
local function ticker_flush(st)
  local k, changed, newest = st.k, false, st.newest
  if newest and newest ~= st.written then
    redis.call('HSET', k.ticker, 'id', newest.id, 'last', newest.price, 'bid', newest.bid, 'ask', newest.ask,
      'ts', newest.ts, 'volume', newest.volume, 'bidVolume', newest.bid_qty, 'askVolume', newest.ask_qty)
    st.written, changed = newest, true
  end
  if st.copy then return end
  if #st.gone > 0 then  -- before an hour that left comes back
    redis.call('HDEL', k.ohlc, unpack(st.gone))
    st.gone, changed = {}, true
  end
  local writes = {}
  for hour, b in pairs(st.live) do
    if b.dirty then
      local f = hour .. ':'
      for _, v in ipairs({f .. 'o', b.o, f .. 'oid', b.oid, f .. 'h', b.h, f .. 'l', b.l, f .. 'c', b.c,
        f .. 'cid', b.cid}) do
        writes[#writes + 1] = v
      end
      b.dirty = false
    end
  end
  if #writes > 0 then
    redis.call('HSET', k.ohlc, unpack(writes))
    for i = 1, #writes, 2 do st.raw[writes[i]] = writes[i + 1] end  -- so a later trim finds them
    changed = true
  end
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
