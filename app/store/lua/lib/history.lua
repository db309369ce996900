-- The history indexes S:order_index and S:trade_index (see "History" in app/store/keys.py): lexicographic
-- zsets (score 0) of members `<acct>|<dim>|<ts, 13 digits>|<id, 16 digits>`, so one ZRANGEBYLEX of
-- `<acct>|<dim>|` is a page in time order. Every script that creates an order or trade or changes an
-- order's status keeps them exact; a script that removes a row removes every member the helpers below
-- derive from its record.

-- The member of row `id` (ms time `ts`) of `acct` in dimension `dim`.
local function history_member(acct, dim, ts, id)
  return acct .. '|' .. dim .. '|' .. string.format('%013.0f', tonumber(ts)) .. '|'
    .. string.format('%016.0f', tonumber(id))
end

-- The S:order_index members of a decoded order record `o` whose status is `st` (default: o.st) that
-- depend on the status: `st:<st>`, `sym:<SYMBOL>:<st>`, and `done` (at `o.uts`, the time it closed)
-- unless `st` is open.
local function order_status_members(o, st)
  st = st or o.st
  local m = {
    history_member(o.acct, 'st:' .. st, o.ts, o.id),
    history_member(o.acct, 'sym:' .. o.sym .. ':' .. st, o.ts, o.id),
  }
  if st ~= 'open' then m[#m + 1] = history_member(o.acct, 'done', o.uts, o.id) end
  return m
end

-- Every S:order_index member of a decoded order record `o` (needs o.acct, o.id, o.ts, o.sym, o.st and,
-- unless open, o.uts): `all`, `sym:<SYMBOL>` and the members of its status.
local function order_index_members(o)
  local m = order_status_members(o)
  m[#m + 1] = history_member(o.acct, 'all', o.ts, o.id)
  m[#m + 1] = history_member(o.acct, 'sym:' .. o.sym, o.ts, o.id)
  return m
end

-- Every S:trade_index member of a decoded trade record `t` (t.acct, t.id, t.ts, t.sym): `all` and
-- `sym:<SYMBOL>`.
local function trade_index_members(t)
  return {history_member(t.acct, 'all', t.ts, t.id), history_member(t.acct, 'sym:' .. t.sym, t.ts, t.id)}
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
  local out, into = order_status_members(o, old_st), order_status_members(o)
  if removed then
    history_append(removed, out)
    history_append(added, into)
    return
  end
  redis.call('ZREM', index, unpack(out))
  history_add(index, into)
end
