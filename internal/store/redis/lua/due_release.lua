-- due_release.lua: hands a claimed due item back if the owner still holds
-- it, claimable again from its due time; the item itself is unchanged.
--
-- KEYS[1] items (hash)   KEYS[2] ready (zset, lex)   KEYS[3] pos (hash)
-- KEYS[4] owner (hash)
-- ARGV[1] item ID        ARGV[2] owner     ARGV[3] time key of its DueAt
--
-- Returns 1 when released; -1 when there is no such item; 0 when the owner
-- does not hold it (then nothing changes).

local id = ARGV[1]
if not redis.call('HGET', KEYS[1], id) then
  return -1
end
if redis.call('HGET', KEYS[4], id) ~= ARGV[2] then
  return 0
end
local p = redis.call('HGET', KEYS[3], id)
if p then
  redis.call('ZREM', KEYS[2], p .. '|' .. id)
end
redis.call('ZADD', KEYS[2], 0, ARGV[3] .. '|' .. id)
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HDEL', KEYS[4], id)
return 1
