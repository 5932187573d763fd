-- outbox_wake.lua: puts parked messages of one shard back in its queue at
-- the time each may be sent, now that the message they waited for has
-- left (outbox_leave.lua). A claim held on one ends: the participant's
-- send gate, not the shard, decides who may send it. A message no longer
-- in the queue (it has left meanwhile) stays out.
--
-- KEYS[1] ready (zset, lex)   KEYS[2] pos (hash)   KEYS[3] owner (hash)
-- ARGV[1..] pairs: message ID, time key from which it may be claimed
--
-- Returns the number of messages woken.

local n = 0
for j = 1, #ARGV, 2 do
  local id, tk = ARGV[j], ARGV[j + 1]
  local old = redis.call('HGET', KEYS[2], id)
  if old then
    redis.call('ZREM', KEYS[1], old .. '|' .. id)
    redis.call('ZADD', KEYS[1], 0, tk .. '|' .. id)
    redis.call('HSET', KEYS[2], id, tk)
    redis.call('HDEL', KEYS[3], id)
    n = n + 1
  end
end
return n
