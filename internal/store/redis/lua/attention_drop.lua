-- attention_drop.lua: takes attention items out of the queue's indexes.
-- Used when the turn that hinted them was refused, and when a participant is
-- erased. Only items located at the given participant are touched.
--
-- KEYS[1] where (hash)   KEYS[2] all (zset, lex)   KEYS[3] open (zset, lex)
-- ARGV[1] participant ID
-- ARGV[2..] pairs: item ID, time key of CreatedAt
--
-- Returns the number of items dropped.

local n = 0
for j = 2, #ARGV, 2 do
  local id = ARGV[j]
  if redis.call('HGET', KEYS[1], id) == ARGV[1] then
    local m = ARGV[j + 1] .. '|' .. id
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], m)
    redis.call('ZREM', KEYS[3], m)
    n = n + 1
  end
end
return n
