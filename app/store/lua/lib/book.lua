-- The published order book and the trade tape of one symbol, kept by shard 0's settle calls (keys and
-- layout: app/store/keys.py, {ns}:depth:<SYMBOL>, {ns}:market, {ns}:tape:<SYMBOL>). Shared by settle_tick
-- and settle_batch; needs parse_id and id_order (lib/ticker.lua).
--
-- A tick without bids, asks or qty costs three string comparisons. The depth hash is read at most once per
-- call (when the call has a book or a print) and written at most once; a call that publishes newer books
-- writes the newest one and appends one diff entry to the market stream (U..u: one update id per book);
-- each new print is one tape element (pushed with the call's other prints at the end of the call). Like the ticker, the book and the tape only move forward by entry id,
-- so a redelivered or overtaken tick changes nothing. With `market` "" (a shard other than shard 0) none
-- of this runs.

-- The book state of one call. `k` holds the keys depth, market_stream, tape.
local function book_open(k, market, tape_maxlen, market_maxlen)
  return {
    k = k, off = market == '', tape_maxlen = tape_maxlen, market_maxlen = market_maxlen, prints = {},
    state = nil,    -- the depth hash, read on the first book or print of the call
    books = 0,      -- newer books this call published
    newest = nil,   -- the newest of them
    printed = false,
  }
end

-- The depth hash as a table (read once per call).
local function book_state(bk)
  local st = bk.state
  if st then return st end
  local v = redis.call('HMGET', bk.k.depth, 'u', 'id', 'bids', 'asks', 'pid', 'pn', 'pp', 'ps')
  st = {
    u = tonumber(v[1] or '0'), id = v[2] or nil, bids = v[3] or '[]', asks = v[4] or '[]',
    pid = v[5] or nil, pn = tonumber(v[6] or '0'), pp = v[7] or nil, ps = v[8] or 'buy',
  }
  if st.id then st.ms, st.seq = parse_id(st.id) end
  if st.pid then st.pms, st.pseq = parse_id(st.pid) end
  bk.state = st
  return st
end

-- The taker side of a print (the rule of app/store/keys.py, *Tape*).
local function taker_side(st, t)
  local p, bid, ask = t.p, tonumber(t.bid), tonumber(t.ask)
  if bid < ask then
    if p >= ask then return 'buy' end
    if p <= bid then return 'sell' end
  end
  local prev = st.pp and tonumber(st.pp)
  if prev and p > prev then return 'buy' end
  if prev and p < prev then return 'sell' end
  return st.ps
end

-- Tick `t` (from tick_at): its book, if it carries one newer than the stored book; its print, if it has a
-- qty and is newer than the newest print.
local function book_add(bk, t)
  if bk.off or (t.bids == '' and t.asks == '' and t.qty == '') then return end
  local st = book_state(bk)
  if (t.bids ~= '' or t.asks ~= '') and (not st.ms or id_order(t.ms, t.seq, st.ms, st.seq) > 0) then
    st.ms, st.seq = t.ms, t.seq
    bk.books, bk.newest = bk.books + 1, t
  end
  if t.qty ~= '' and tonumber(t.qty) > 0 and (not st.pms or id_order(t.ms, t.seq, st.pms, st.pseq) > 0) then
    local side = taker_side(st, t)
    st.pn = st.pn + 1
    st.pid, st.pms, st.pseq, st.pp, st.ps = t.id, t.ms, t.seq, t.price, side
    bk.prints[#bk.prints + 1] = table.concat({string.format('%d', st.pn), t.id, t.ts, t.price, t.qty, side}, '|')
    bk.printed = true
  end
end

-- One side of a published book: its levels without those of qty 0, as a list of {price, qty} and as JSON.
local function side_levels(text)
  local levels, parts = {}, {}
  if text == '' then return levels, '[]' end
  for _, level in ipairs(cjson.decode(text)) do
    if tonumber(level[2]) ~= 0 then
      levels[#levels + 1] = level
      parts[#parts + 1] = '["' .. level[1] .. '","' .. level[2] .. '"]'
    end
  end
  return levels, '[' .. table.concat(parts, ',') .. ']'
end

-- The diff of one side, as JSON: the levels of `new` whose qty differs from `old`'s, and qty "0" for the
-- levels of `old` that `new` no longer has, best first (`sign` 1 for asks, -1 for bids).
local function side_diff(old_text, new, sign)
  local old, seen, out = {}, {}, {}
  for _, level in ipairs(cjson.decode(old_text)) do old[level[1]] = level[2] end
  for _, level in ipairs(new) do
    seen[level[1]] = true
    if old[level[1]] ~= level[2] then out[#out + 1] = {level[1], level[2]} end
  end
  for price in pairs(old) do
    if not seen[price] then out[#out + 1] = {price, '0'} end
  end
  table.sort(out, function(a, b) return sign * tonumber(a[1]) < sign * tonumber(b[1]) end)
  local parts = {}
  for i, level in ipairs(out) do parts[i] = '["' .. level[1] .. '","' .. level[2] .. '"]' end
  return '[' .. table.concat(parts, ',') .. ']'
end

-- Writes the newest book and the tape's state, and appends the call's diff to the market stream.
local function book_flush(bk, sym)
  local st = bk.state
  if bk.off or not st then return end
  local writes, t = {}, bk.newest
  if t then
    local bids, bids_json = side_levels(t.bids)
    local asks, asks_json = side_levels(t.asks)
    local first, last = st.u + 1, st.u + bk.books
    local diff = '{"symbol":"' .. sym .. '","U":' .. string.format('%d', first) .. ',"u":' ..
      string.format('%d', last) .. ',"id":"' .. t.id .. '","ts":' .. t.ts .. ',"bids":' ..
      side_diff(st.bids, bids, -1) .. ',"asks":' .. side_diff(st.asks, asks, 1) .. '}'
    writes = {'u', string.format('%d', last), 'id', t.id, 'ts', t.ts, 'bids', bids_json, 'asks', asks_json}
    st.u, st.id, st.bids, st.asks, bk.books, bk.newest = last, t.id, bids_json, asks_json, 0, nil
    redis.call('XADD', bk.k.market_stream, 'MAXLEN', '~', bk.market_maxlen, '*', 'type', 'book.diff', 'data', diff)
  end
  if bk.printed then
    for _, v in ipairs({'pid', st.pid, 'pn', string.format('%d', st.pn), 'pp', st.pp, 'ps', st.ps}) do
      writes[#writes + 1] = v
    end
    for i = 1, #bk.prints, 1000 do  -- the call's prints in one push (slices keep unpack bounded), one trim
      redis.call('RPUSH', bk.k.tape, unpack(bk.prints, i, math.min(i + 999, #bk.prints)))
    end
    redis.call('LTRIM', bk.k.tape, -tonumber(bk.tape_maxlen), -1)
    bk.printed, bk.prints = false, {}
  end
  if #writes > 0 then redis.call('HSET', bk.k.depth, unpack(writes)) end
end
