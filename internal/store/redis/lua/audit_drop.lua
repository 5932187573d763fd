-- audit_drop.lua: takes a refused turn's entries out of the audit log's
-- indexes. Only entries located at the given participant's slot are
-- touched, so an entry that landed is never dropped.
--
-- KEYS[1] where (hash)   KEYS[2] all (zset, lex)
-- KEYS[3] the participant's audit index (zset, lex)
-- ARGV[1] participant ID
-- ARGV[2..] pairs: entry ID, time key of At
--
-- Returns the number of entries dropped.

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
