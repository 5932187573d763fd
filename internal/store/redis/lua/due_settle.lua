-- due_settle.lua: ends a claimed due item's claim if the owner still holds
-- it (it was the last to claim it and nobody has replaced it since):
-- completed, the item is deleted; released, it is handed back, claimable
-- again from its due time, unchanged.
--
-- KEYS[1] items (hash)   KEYS[2] ready (zset, lex)   KEYS[3] pos (hash)
-- KEYS[4] owner (hash)
-- ARGV[1] item ID        ARGV[2] owner
-- ARGV[3] the time key of its DueAt to release it; empty to complete it
--
-- Returns, completed, the deleted item's JSON, and released, 1; -1 when
-- there is no such item; 0 when the owner does not hold it (then nothing
-- changes).

local id = ARGV[1]
local doc = redis.call('HGET', KEYS[1], id)
if not doc then
  return -1
end
if redis.call('HGET', KEYS[4], id) ~= ARGV[2] then
  return 0
end
local p = redis.call('HGET', KEYS[3], id)
if p then
  redis.call('ZREM', KEYS[2], p .. '|' .. id)
end
redis.call('HDEL', KEYS[4], id)
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[2], 0, ARGV[3] .. '|' .. id)
  redis.call('HSET', KEYS[3], id, ARGV[3])
  return 1
end
redis.call('HDEL', KEYS[1], id)
redis.call('HDEL', KEYS[3], id)
return doc
