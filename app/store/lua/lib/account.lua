-- Account names inside the per-shard structures (see app/store/keys.py): every field, member and id an
-- account's state is stored under. An account name never contains ':' or '|'.

-- The balance field `<acct>:<ASSET>:<kind>` (kind: free | used | deposited | withdrawn).
local function bal(acct, asset, kind)
  return acct .. ':' .. asset .. ':' .. kind
end

-- The index member `<acct>|<id, 16 digits>`: lexicographic order is id order within an account.
local function member(acct, id)
  return acct .. '|' .. string.format('%016.0f', tonumber(id))
end

-- The next id from the shard's counter `seq`: base + n, written without an exponent (exact below 2^53).
local function issue_id(seq, base)
  return string.format('%.0f', tonumber(base) + redis.call('INCR', seq))
end

-- Records that `acct` has a balance row for `asset` (so its balance is listed by one range read).
local function note_asset(assets, acct, asset)
  redis.call('ZADD', assets, 0, acct .. '|' .. asset)
end
