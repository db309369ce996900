-- The history indexes S:order_index and S:trade_index (see "History" in app/store/keys.py): lexicographic
-- zsets (score 0) of members `<acct>|<dim>|<ts, 13 digits>|<id, 16 digits>`, so one ZRANGEBYLEX of
-- `<acct>|<dim>|` is a page in time order. Every script that creates an order or trade or changes an
-- order's status keeps them exact; a script that removes a row removes every member the helpers below
-- derive from its record.

-- `v` (a canonical decimal string as records hold them, or an integer-valued number) zero-padded to `width`
-- digits (string.rep: a quarter of the cost of string.format, which matters in a settle call's loop).
local function history_pad(v, width)
  if type(v) ~= 'string' then v = string.format('%.0f', v) end
  return string.rep('0', width - #v) .. v
end

-- The part of a member after its dim: `|<ts, 13 digits>|<id, 16 digits>`.
local function history_tail(ts, id)
  return '|' .. history_pad(ts, 13) .. '|' .. history_pad(id, 16)
end

-- The member of row `id` (ms time `ts`) of `acct` in dimension `dim`.
local function history_member(acct, dim, ts, id)
  return acct .. '|' .. dim .. history_tail(ts, id)
end

-- The S:order_index members of a decoded order record `o` whose status is `st` (default: o.st) that
-- depend on the status: `st:<st>`, `sym:<SYMBOL>:<st>`, and `done` (at `o.uts`, the time it closed)
-- unless `st` is open. `head` / `tail` (optional) are `<acct>|` and `|<ts>|<id>` of `o`.
local function order_status_members(o, st, head, tail)
  st = st or o.st
  head = head or (o.acct .. '|')
  tail = tail or history_tail(o.ts, o.id)
  local m = {head .. 'st:' .. st .. tail, head .. 'sym:' .. o.sym .. ':' .. st .. tail}
  if st ~= 'open' then m[3] = history_member(o.acct, 'done', o.uts, o.id) end
  return m
end

-- Every S:order_index member of a decoded order record `o` (needs o.acct, o.id, o.ts, o.sym, o.st and,
-- unless open, o.uts): `all`, `sym:<SYMBOL>` and the members of its status.
local function order_index_members(o)
  local head, tail = o.acct .. '|', history_tail(o.ts, o.id)
  local m = order_status_members(o, o.st, head, tail)
  m[#m + 1] = head .. 'all' .. tail
  m[#m + 1] = head .. 'sym:' .. o.sym .. tail
  return m
end

-- Every S:trade_index member of a decoded trade record `t` (t.acct, t.id, t.ts, t.sym): `all` and
-- `sym:<SYMBOL>`.
local function trade_index_members(t)
  local head, tail = t.acct .. '|', history_tail(t.ts, t.id)
  return {head .. 'all' .. tail, head .. 'sym:' .. t.sym .. tail}
end

-- Appends the values of list `src` to list `dst`; returns `dst`.
local function history_append(dst, src)
  for _, v in ipairs(src) do dst[#dst + 1] = v end
  return dst
end

-- ZADD (score 0) every member of list `members` to `index`, at most 500 per call.
local function history_add(index, members)
  for i = 1, #members, 500 do
    local args = {}
    for j = i, math.min(i + 499, #members) do
      args[#args + 1] = 0
      args[#args + 1] = members[j]
    end
    redis.call('ZADD', index, unpack(args))
  end
end

-- ZREM every member of list `members` from `index`, at most 1000 per call.
local function history_remove(index, members)
  for i = 1, #members, 1000 do
    redis.call('ZREM', index, unpack(members, i, math.min(i + 999, #members)))
  end
end

-- Moves order `o` (already holding its new status and, unless open, its `uts`) from status `old_st` in
-- `index`: writes nothing itself when `removed` / `added` lists are given (the caller writes them in
-- chunks), else removes and adds at once.
local function order_index_move(index, o, old_st, removed, added)
  local head, tail = o.acct .. '|', history_tail(o.ts, o.id)
  local out, into = order_status_members(o, old_st, head, tail), order_status_members(o, o.st, head, tail)
  if removed then
    history_append(removed, out)
    history_append(added, into)
    return
  end
  redis.call('ZREM', index, unpack(out))
  history_add(index, into)
end
