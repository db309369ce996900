-- Exact arithmetic on money: non-negative integers (minor units) written as canonical decimal strings
-- ("0", "42", never "007"). Lua numbers are doubles, exact only below 2^53, so amounts are never turned
-- into numbers: they are compared and added as strings and moved in Valkey with HINCRBY.

local function uint_norm(a)
  if a == false or a == nil or a == '' then return '0' end
  local s = string.gsub(a, '^0+', '')
  if s == '' then return '0' end
  return s
end

-- The increment that takes `a` away, for HINCRBY ("-0" is not an integer to Valkey).
local function uint_neg(a)
  a = uint_norm(a)
  if a == '0' then return '0' end
  return '-' .. a
end

-- -1, 0 or 1 as a < b, a == b, a > b.
local function uint_cmp(a, b)
  a = uint_norm(a); b = uint_norm(b)
  if #a ~= #b then return (#a < #b) and -1 or 1 end
  if a == b then return 0 end
  return (a < b) and -1 or 1
end

-- a + b, in chunks of 7 digits (every partial sum stays far below 2^53).
local function uint_add(a, b)
  a = uint_norm(a); b = uint_norm(b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local x = (i > 0) and tonumber(string.sub(a, math.max(1, i - 6), i)) or 0
    local y = (j > 0) and tonumber(string.sub(b, math.max(1, j - 6), j)) or 0
    local s = x + y + carry
    carry = (s >= 10000000) and 1 or 0
    out[#out + 1] = string.format('%07d', s - carry * 10000000)
    i = i - 7; j = j - 7
  end
  local r = {}
  for k = #out, 1, -1 do r[#r + 1] = out[k] end
  return uint_norm(table.concat(r))
end

-- a - b, requires a >= b.
local function uint_sub(a, b)
  a = uint_norm(a); b = uint_norm(b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local x = tonumber(string.sub(a, math.max(1, i - 6), i))
    local y = (j > 0) and tonumber(string.sub(b, math.max(1, j - 6), j)) or 0
    local s = x - y - borrow
    if s < 0 then s = s + 10000000; borrow = 1 else borrow = 0 end
    out[#out + 1] = string.format('%07d', s)
    i = i - 7; j = j - 7
  end
  local r = {}
  for k = #out, 1, -1 do r[#r + 1] = out[k] end
  return uint_norm(table.concat(r))
end

-- Running sums of many amounts: small addends (up to 15 digits) are added as doubles, exact below 2^53,
-- and folded into the exact string total before the double could reach 2^53.
local function sum_new() return {n = 0, s = '0'} end

local function sum_add(acc, a)
  if #a <= 15 then
    acc.n = acc.n + tonumber(a)
    if acc.n >= 4e15 then
      acc.s = uint_add(acc.s, string.format('%.0f', acc.n))
      acc.n = 0
    end
  else
    acc.s = uint_add(acc.s, a)
  end
end

local function sum_value(acc)
  if acc.n == 0 then return acc.s end
  return uint_add(acc.s, string.format('%.0f', acc.n))
end

-- An approximation as a double, for overflow guards only.
local function sum_approx(acc) return tonumber(acc.s) + acc.n end
