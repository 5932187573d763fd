-- hint_drop.lua: takes records out of a located index: attention items out
-- of the queue's indexes, audit entries out of the log's. Used when the
-- turn that hinted them was refused, and (attention) when a participant is
-- erased. Only records located at the given participant are touched, so a
-- record that landed is never dropped.
--
-- KEYS[1] where (hash)   KEYS[2] all (zset, lex)
-- KEYS[3] the second index (zset, lex): the open items, or the
--         participant's own audit entries
-- ARGV[1] participant ID
-- ARGV[2..] pairs: record ID, time key of its time
--
-- Returns the number of records dropped.

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
