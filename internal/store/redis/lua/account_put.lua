-- account_put.lua: creates or replaces a caseworker account, keeping
-- usernames unique, in one step. An update that takes away the account's
-- child-protection training is refused while it holds a child claim
-- (child_claim.lua).
--
-- KEYS[1] the account records (hash: account ID → Account JSON)
-- KEYS[2] the username index (hash: username → account ID)
-- KEYS[3] the account's child claims (zset)
-- ARGV[1] "create" or "update"   ARGV[2] account ID   ARGV[3] username
-- ARGV[4] the Account JSON
--
-- Returns 1 when written; 0 when the ID (create) or the username belongs
-- to another account; -1 when updating an account that does not exist;
-- -2 when the update would leave a child with an untrained caseworker.

local id, name = ARGV[2], ARGV[3]
local owner = redis.call('HGET', KEYS[2], name)
if ARGV[1] == 'create' then
  if redis.call('HEXISTS', KEYS[1], id) == 1 or owner then
    return 0
  end
else
  local old = redis.call('HGET', KEYS[1], id)
  if not old then
    return -1
  end
  if owner and owner ~= id then
    return 0
  end
  local before = cjson.decode(old)
  if before.child_protection_trained == true and cjson.decode(ARGV[4]).child_protection_trained ~= true
    and redis.call('ZCARD', KEYS[3]) > 0 then
    return -2
  end
  local was = before['username']
  if was ~= name then
    redis.call('HDEL', KEYS[2], was)
  end
end
redis.call('HSET', KEYS[2], name, id)
redis.call('HSET', KEYS[1], id, ARGV[4])
return 1
