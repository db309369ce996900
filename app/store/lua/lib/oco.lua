-- One-cancels-the-other order lists: a limit order and a stop-loss(-limit) of the same side and amount, placed
-- together by place_oco.lua. The list reserves once, what the larger of its two fills needs: that leg (the
-- holder) carries the reservation as its `res`; the other leg's `res` is its own need, marked `shr` = "1"
-- (shared: covered by its sibling's reservation, not counted in `used`). Each leg's `oco` is its sibling's
-- id, `ol` the list id. When one leg fills or triggers, its sibling is canceled in the same transition
-- and the leg keeps exactly its own need reserved (the rest of the holder's reservation returns to free).
-- Needs lib/uint.lua, lib/account.lua, lib/events.lua, lib/history.lua. A settlement cancels a sibling with
-- lib/settle.lua's oco_settle.

-- Cancels sibling `y` (decoded, open) of leg `o`: out of its book, trigger index and the open index, its
-- status canceled. Returns what the list's reservation shrinks by once `o` holds only its own need (a string
-- of minor units of o.ra, "0" when `o` already held it).
local function oco_cancel(y, o, keys, now_ms, channel, maxlen)
  local release = '0'
  if (y.shr or '') ~= '1' then release = uint_sub(y.res, o.res) end
  o.shr = ''
  redis.call('ZREM', y.side == 'buy' and keys.book_buy or keys.book_sell, y.id)
  redis.call('ZREM', keys.triggers, y.id)
  redis.call('ZREM', keys.open, member(y.acct, y.id))
  y.st = 'canceled'
  y.res = '0'
  y.uts = now_ms
  order_index_move(keys.order_index, y, 'open')
  local canceled = cjson.encode(y)
  redis.call('HSET', keys.orders, y.id, canceled)
  emit(keys.events, channel, maxlen, 'order.canceled', order_data(canceled))
  return release
end
