-- outbox_drop.lua: forgets messages in one outbox shard: their location and
-- any place in the queue. Used when a turn that hinted them was refused,
-- and when a participant is erased. Only messages located at the given
-- participant are touched.
--
-- KEYS[1] where (hash)   KEYS[2] ready (zset, lex)   KEYS[3] pos (hash)
-- KEYS[4] owner (hash)   KEYS[5] orphan (hash)
-- ARGV[1] participant ID
-- ARGV[2..] message IDs
--
-- Returns the number of messages forgotten.

local n = 0
for j = 2, #ARGV do
  local id = ARGV[j]
  if redis.call('HGET', KEYS[1], id) == ARGV[1] then
    local tk = redis.call('HGET', KEYS[3], id)
    if tk then
      redis.call('ZREM', KEYS[2], tk .. '|' .. id)
    end
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('HDEL', KEYS[5], id)
    n = n + 1
  end
end
return n
