-- Triggering the stop-loss / take-profit orders a tick reaches. Shared by settle_tick and settle_batch,
-- run before the tick's fills (lib/settle.lua), so an order the tick triggers fills on that same tick.
--
-- A tick at price p triggers every order of S:trig:<SYMBOL>:up with trigger <= p and of ...:down with
-- trigger >= p (Binance spot: a sell stop-loss when the price falls to its trigger, a sell take-profit
-- when it rises to it, buys mirrored), read by range with LIMIT: a tick that reaches no trigger costs two
-- empty range reads. A triggered order leaves its trigger index and, in the same call, becomes what its
-- type says, its reservation unchanged:
--   * a limit stop rests in the book at its limit (the tick's fills then take it if p crosses the limit);
--     with IOC / FOK it expires unless p crosses its limit, post-only expires if p does (it would take);
--   * a market stop goes into the book at score p, which this tick crosses: it fills in this call, at its
--     trigger price, as a taker (its fill was priced there when it was placed).
-- Only a tick newer than the ticker triggers (the caller skips late mode): a redelivered or overtaken
-- tick triggers nothing, the newer one that overtook it already did what the price says.
-- Needs lib/uint.lua, lib/account.lua, lib/events.lua, lib/fills.lua, lib/history.lua, lib/settle.lua,
-- lib/oco.lua;
-- `s.k` holds trig_up and trig_down besides lib/settle.lua's keys.

-- Whether triggered order `o` may go on to the book at tick `t`, or expires (its time in force).
local function trigger_outcome(o, t)
  if o.type == 'market' then return 'fill' end
  local px = tonumber(o.px)
  local crosses = (o.side == 'buy' and px >= t.p) or (o.side == 'sell' and px <= t.p)
  if o.tif == 'PO' and crosses then return 'expire' end
  if (o.tif == 'IOC' or o.tif == 'FOK') and not crosses then return 'expire' end
  return 'rest'
end

-- Triggers what tick `t` reaches, examining at most `budget` (> 0) orders; returns whether every order the
-- tick reaches is triggered, and the budget left.
local function settle_triggers(s, t, budget)
  local k = s.k
  local ids = redis.call('ZRANGEBYSCORE', k.trig_up, '-inf', t.price, 'LIMIT', 0, budget)
  local n_up = #ids
  if n_up < budget then
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', k.trig_down, t.price, '+inf', 'LIMIT', 0, budget - n_up)) do
      ids[#ids + 1] = id
    end
  end
  s.examined = s.examined + #ids
  if #ids == 0 then return true, budget end
  if not s.now_ms then
    s.now_ms = server_now()
    s.next_tid = tonumber(redis.call('GET', k.trade_seq) or '0')
  end
  local raws = redis.call('HMGET', k.orders, unpack(ids))
  for i, oid in ipairs(ids) do
    redis.call('ZREM', i <= n_up and k.trig_up or k.trig_down, oid)
    local o = raws[i] and cjson.decode(raws[i])
    if o and o.st == 'open' and (o.trg or '') == '' then
      o.trg = s.now_ms
      o.uts = s.now_ms
      oco_settle(s, o)  -- an OCO's stop leg: the limit leg is canceled as it triggers (lib/oco.lua)
      local outcome = trigger_outcome(o, t)
      emit(k.events, s.channel, s.maxlen, 'order.triggered', order_data(cjson.encode(o)))
      if outcome == 'expire' then
        local ra = touch(s, o.acct, o.ra)
        sum_add(s.used_out[ra], o.res)
        sum_add(s.free_in[ra], o.res)
        o.st = 'expired'
        o.res = '0'
        redis.call('ZREM', k.open, member(o.acct, oid))
        order_index_move(k.order_index, o, 'open')
        local expired = cjson.encode(o)
        redis.call('HSET', k.orders, oid, expired)
        emit(k.events, s.channel, s.maxlen, 'order.expired', order_data(expired))
      else
        redis.call('HSET', k.orders, oid, cjson.encode(o))
        local book = o.side == 'buy' and k.book_buy or k.book_sell
        redis.call('ZADD', book, outcome == 'fill' and t.price or o.px, oid)
      end
    end
  end
  return #ids < budget, budget - #ids
end
