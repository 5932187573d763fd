-- outbox_place.lua: puts a message back in its shard's queue at a new time,
-- or takes it out of the queue, and ends any claim on it. Idempotent: it is
-- the second step of UpdateOutbound, after the record was saved.
--
-- KEYS[1] ready (zset, lex)   KEYS[2] pos (hash)   KEYS[3] owner (hash)
-- KEYS[4] orphan (hash)   KEYS[5] where (hash), only with ARGV[3]
-- ARGV[1] message ID
-- ARGV[2] time key from which it may be claimed, or "" to leave the queue
-- ARGV[3] a participant ID: the message is placed only if the shard
--         locates it in that participant's slot (MarkSent on a single
--         Redis, which sends this in one pipeline with the record's step
--         and so cannot wait to learn that the record was there)
--
-- Returns 1, or 0 when ARGV[3] does not match.

local id, tk = ARGV[1], ARGV[2]
if ARGV[3] and redis.call('HGET', KEYS[5], id) ~= ARGV[3] then
  return 0
end
local old = redis.call('HGET', KEYS[2], id)
if old then
  redis.call('ZREM', KEYS[1], old .. '|' .. id)
end
if tk ~= '' then
  redis.call('ZADD', KEYS[1], 0, tk .. '|' .. id)
  redis.call('HSET', KEYS[2], id, tk)
else
  redis.call('HDEL', KEYS[2], id)
end
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
return 1
