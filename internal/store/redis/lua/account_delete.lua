-- account_delete.lua: deletes a caseworker account with its username, its
-- web sessions and its API tokens, in one step.
--
-- KEYS[1] the account records (hash: account ID → Account JSON)
-- KEYS[2] the username index (hash: username → account ID)
-- KEYS[3] the account's session index (zset)
-- KEYS[4] the account's API token index (zset)
-- KEYS[5..] the session records, then the token records, the caller read
--           from the two indexes, then the account's child claims (zset)
-- ARGV[1] account ID   ARGV[2] how many session records the caller read
-- ARGV[3] how many token records the caller read
--
-- Returns 1 when deleted; 0 when an index has changed since the caller
-- read it (read again and retry); -1 when there is no such account.

local doc = redis.call('HGET', KEYS[1], ARGV[1])
if not doc then
  return -1
end
if redis.call('ZCARD', KEYS[3]) ~= tonumber(ARGV[2]) or redis.call('ZCARD', KEYS[4]) ~= tonumber(ARGV[3]) then
  return 0
end
local name = cjson.decode(doc)['username']
if redis.call('HGET', KEYS[2], name) == ARGV[1] then
  redis.call('HDEL', KEYS[2], name)
end
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 3, #KEYS do
  redis.call('DEL', KEYS[i])
end
return 1
