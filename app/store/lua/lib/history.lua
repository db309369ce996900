-- The history indexes (see app/store/keys.py): members `<acct>|<dim>|<ts, 13 digits>|<id, 16 digits>`.

local function index_member(acct, dim, ts, id)
  return acct .. '|' .. dim .. '|' .. string.format('%013.0f', tonumber(ts)) .. '|' .. string.format('%016.0f', tonumber(id))
end

-- Every S:order_index member of order record `o` in its current status.
local function order_members(o)
  local a, st = o.acct, o.st
  local m = {
    index_member(a, 'all', o.ts, o.id), index_member(a, 'st:' .. st, o.ts, o.id),
    index_member(a, 'sym:' .. o.sym, o.ts, o.id), index_member(a, 'sym:' .. o.sym .. ':' .. st, o.ts, o.id),
  }
  if st ~= 'open' then m[#m + 1] = index_member(a, 'done', o.uts, o.id) end
  return m
end

-- Every S:trade_index member of trade record `t`.
local function trade_members(t)
  return {index_member(t.acct, 'all', t.ts, t.id), index_member(t.acct, 'sym:' .. t.sym, t.ts, t.id)}
end
