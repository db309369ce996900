-- Filling the resting limit orders a tick crosses. Shared by settle_tick and settle_batch.
--
-- A tick at price p fills every resting buy with limit >= p and every sell with limit <= p, each at its
-- own limit price (maker), consuming exactly the reservation made when it was placed. A triggered market
-- stop (lib/triggers.lua) is in the book only within the call that triggers it, at a score the tick
-- crosses: it fills at its trigger price, as a taker. An order fills at most once (only an open order
-- fills). A tick in late mode (not newer than the ticker) only fills orders placed before the tick was
-- published (created before its entry id time, and a triggered stop triggered before it), so a stale tick
-- never fills an order placed after it.
--
-- One settlement gathers the money moves and statistics of every tick it fills for and writes them once,
-- in settlement_finish. The book holds the orders of every account of the shard: money, statistics and
-- balance.changed events are kept per account. Needs lib/uint.lua, lib/account.lua, lib/events.lua,
-- lib/fills.lua, lib/history.lua.

-- A fill's fee is counted in the statistics as `fee` (paid in the quote asset) or `basefee` (in the base
-- asset: FEE_ASSET=received, a buy), lib/fills.lua's fee_kind.
--
-- `k` holds the keys book_buy, book_sell, trig_up, trig_down, orders, open, balances, stats, trades,
-- trade_ids, trade_seq, events, assets, order_index, trade_index. Trade ids are `id_base` + the shard's trade sequence.
local function settlement_open(k, sym, channel, maxlen, id_base)
  return {
    k = k, sym = sym, channel = channel, maxlen = maxlen, id_base = tonumber(id_base),
    filled = 0, examined = 0,
    now_ms = nil, next_tid = nil,  -- read on the first order examined: a tick crossing nothing needs neither
    used_out = {}, free_in = {}, touched = {}, free_start = {},  -- per balance field `<acct>:<ASSET>`
    accounts = {},  -- acct -> list of assets touched, in order (one balance.changed per account)
    sides = {},  -- `<acct>:<side>` -> {acct, side, count, base, quote, fee}
  }
end

local function touch(s, acct, asset)
  local f = acct .. ':' .. asset
  if not s.touched[f] then
    s.touched[f] = true
    s.touched[#s.touched + 1] = f
    local assets = s.accounts[acct]
    if not assets then
      assets = {}
      s.accounts[acct] = assets
      s.accounts[#s.accounts + 1] = acct
    end
    assets[#assets + 1] = asset
    s.free_start[f] = tonumber(redis.call('HGET', s.k.balances, f .. ':free') or '0')
    s.used_out[f] = sum_new()
    s.free_in[f] = sum_new()
  end
  return f
end

-- In a settlement `s` (lib/settle.lua): leg `o` fills or triggers now; cancels its open sibling and
-- returns the reservation it frees to the settlement's money moves.
local function oco_settle(s, o)
  if (o.oco or '') == '' then return end
  local raw = redis.call('HGET', s.k.orders, o.oco)
  local y = raw and cjson.decode(raw)
  if not y or y.st ~= 'open' then return end
  local keys = {
    book_buy = s.k.book_buy, book_sell = s.k.book_sell, open = s.k.open, orders = s.k.orders,
    order_index = s.k.order_index, events = s.k.events,
    triggers = y.tdir == 'up' and s.k.trig_up or s.k.trig_down,
  }
  local release = oco_cancel(y, o, keys, s.now_ms, s.channel, s.maxlen)
  if release ~= '0' then
    local ra = touch(s, o.acct, o.ra)
    sum_add(s.used_out[ra], release)
    sum_add(s.free_in[ra], release)
  end
end

-- Examines up to `budget` (> 0) crossed orders of one book from `offset` for tick `t` (a table with id
-- ms, ts) in `mode`; returns the new offset (late mode skips orders placed after the tick), whether the
-- crossed range is exhausted, and how many orders it examined.
local function settle_book(s, t, mode, side, offset, budget)
  local k = s.k
  local book, lo, hi = k.book_buy, t.price, '+inf'
  if side == 'sell' then book, lo, hi = k.book_sell, '-inf', t.price end
  local ids = redis.call('ZRANGEBYSCORE', book, lo, hi, 'LIMIT', offset, budget)
  s.examined = s.examined + #ids
  if #ids == 0 then return offset, true, 0 end
  if not s.now_ms then
    s.now_ms = server_now()
    s.next_tid = tonumber(redis.call('GET', k.trade_seq) or '0')
  end
  local cutoff_us = t.ms * 1000
  local raws = redis.call('HMGET', k.orders, unpack(ids))
  local gone, closed, order_writes, trade_writes, trade_index = {}, {}, {}, {}, {}
  local index_out, index_in, trade_members = {}, {}, {}  -- S:order_index moves, S:trade_index members
  for i, oid in ipairs(ids) do
    local raw = raws[i]
    local o = raw and cjson.decode(raw)
    if not o or o.st ~= 'open' then
      gone[#gone + 1] = oid  -- a stale index entry: drop it
    elseif mode == 'l' and (tonumber(o.tus) >= cutoff_us or (o.trg or '') ~= '' and tonumber(o.trg) >= t.ms) then
      offset = offset + 1  -- placed (or triggered) after this tick was published: not this tick's to fill
    else
      gone[#gone + 1] = oid
      closed[#closed + 1] = member(o.acct, oid)
      oco_settle(s, o)  -- an OCO leg: its sibling is canceled, o keeps its own reservation (lib/oco.lua)
      local ra, ca = touch(s, o.acct, o.ra), touch(s, o.acct, o.ca)
      sum_add(s.used_out[ra], o.res)
      if s.free_start[ca] + sum_approx(s.free_in[ca]) + tonumber(o.cr) >= 9e18 then
        -- the credit would overflow a 64-bit balance: give the reservation back and expire the order
        sum_add(s.free_in[ra], o.res)
        o.st = 'expired'; o.res = '0'; o.uts = s.now_ms
        order_index_move(k.order_index, o, 'open', index_out, index_in)
        local expired = cjson.encode(o)
        order_writes[#order_writes + 1] = oid
        order_writes[#order_writes + 1] = expired
        emit(k.events, s.channel, s.maxlen, 'order.expired', order_data(expired))
      else
        sum_add(s.free_in[ca], o.cr)
        local role = o.type == 'market' and 'taker' or 'maker'
        o.st = 'closed'; o.res = '0'; o.filled = o.amt; o.cost = o.mc; o.fee = o.mf
        o.fpx = role == 'taker' and o.tpx or o.px
        s.next_tid = s.next_tid + 1
        local tid = string.format('%.0f', s.id_base + s.next_tid)
        local trade = stamp_fill(o, tid, t.ts, s.now_ms, role)
        order_index_move(k.order_index, o, 'open', index_out, index_in)
        history_append(trade_members, trade_index_members({acct = o.acct, id = tid, ts = t.ts, sym = o.sym}))
        local done_json = cjson.encode(o)
        order_writes[#order_writes + 1] = oid
        order_writes[#order_writes + 1] = done_json
        trade_writes[#trade_writes + 1] = tid
        trade_writes[#trade_writes + 1] = trade
        trade_index[#trade_index + 1] = 0
        trade_index[#trade_index + 1] = member(o.acct, tid)
        emit(k.events, s.channel, s.maxlen, 'order.filled', order_data(done_json, trade))
        local key = o.acct .. ':' .. side
        local st = s.sides[key]
        if not st then
          st = {acct = o.acct, side = side, count = 0, maker = 0, base = sum_new(), quote = sum_new(),
                fee = sum_new(), basefee = sum_new()}
          s.sides[key] = st
          s.sides[#s.sides + 1] = st
        end
        st.count = st.count + 1
        if role == 'maker' then st.maker = st.maker + 1 end
        s.filled = s.filled + 1
        sum_add(st.base, o.amt); sum_add(st.quote, o.mc); sum_add(st[fee_kind(o)], o.mf)
      end
    end
  end
  if #gone > 0 then call_sliced('ZREM', book, gone, 1000) end
  if #closed > 0 then call_sliced('ZREM', k.open, closed, 1000) end
  if #order_writes > 0 then call_sliced('HSET', k.orders, order_writes, 1000) end
  if #trade_writes > 0 then
    call_sliced('HSET', k.trades, trade_writes, 1000)
    call_sliced('ZADD', k.trade_ids, trade_index, 1000)
    history_add(k.trade_index, trade_members)
  end
  history_remove(k.order_index, index_out)
  history_add(k.order_index, index_in)
  return offset, #ids < budget, #ids
end

-- Fills what tick `t` crosses, buys then sells, from the offsets given and within `budget` orders
-- examined; returns the new offsets, whether the tick is done, and the budget left.
local function settle_tick_fills(s, t, mode, buy_off, sell_off, budget)
  local buys_done, sells_done, n = false, false, 0
  buy_off, buys_done, n = settle_book(s, t, mode, 'buy', buy_off, budget)
  budget = budget - n
  if budget > 0 then
    sell_off, sells_done, n = settle_book(s, t, mode, 'sell', sell_off, budget)
    budget = budget - n
  end
  return buy_off, sell_off, buys_done and sells_done, budget
end

-- Writes the money moves, statistics and trade sequence gathered, and emits balance.changed once per
-- account.
local function settlement_finish(s)
  local k = s.k
  for _, st in ipairs(s.sides) do
    local prefix = st.acct .. ':' .. s.sym .. ':' .. st.side .. ':'
    redis.call('HINCRBY', k.stats, prefix .. 'count', st.count)
    redis.call('HINCRBY', k.stats, prefix .. 'maker', st.maker)
    redis.call('HINCRBY', k.stats, prefix .. 'base', sum_value(st.base))
    redis.call('HINCRBY', k.stats, prefix .. 'quote', sum_value(st.quote))
    redis.call('HINCRBY', k.stats, prefix .. 'fee', sum_value(st.fee))
    local basefee = sum_value(st.basefee)
    if basefee ~= '0' then redis.call('HINCRBY', k.stats, prefix .. 'basefee', basefee) end
  end
  if #s.touched == 0 then return end
  redis.call('SET', k.trade_seq, tostring(s.next_tid))
  for _, f in ipairs(s.touched) do
    local out, into = sum_value(s.used_out[f]), sum_value(s.free_in[f])
    if out ~= '0' then redis.call('HINCRBY', k.balances, f .. ':used', uint_neg(out)) end
    if into ~= '0' then
      redis.call('HINCRBY', k.balances, f .. ':free', into)
      redis.call('HINCRBY', k.balances, f .. ':used', 0)
    end
  end
  for _, acct in ipairs(s.accounts) do
    for _, asset in ipairs(s.accounts[acct]) do note_asset(k.assets, acct, asset) end
    emit(k.events, s.channel, s.maxlen, 'balance.changed', balance_data(k.balances, acct, s.accounts[acct]))
  end
end
