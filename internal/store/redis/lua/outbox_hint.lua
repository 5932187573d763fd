-- outbox_hint.lua: makes messages findable in one outbox shard before their
-- records are written in the participant's slot (see keys.go): records the
-- participant of each message and queues the Pending ones. All or nothing.
--
-- KEYS[1] where (hash: message ID -> participant ID)
-- KEYS[2] ready (zset, lex)    KEYS[3] pos (hash: message ID -> time key)
-- ARGV[1] participant ID
-- ARGV[2..] pairs: message ID, time key of NotBefore ("" when the message
--           is not Pending and so is not queued)
--
-- Returns "" when every message was added, or the first message ID that is
-- already known, in which case nothing was added.

for j = 2, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[j]) == 1 then
    return ARGV[j]
  end
end
for j = 2, #ARGV, 2 do
  local id, tk = ARGV[j], ARGV[j + 1]
  redis.call('HSET', KEYS[1], id, ARGV[1])
  if tk ~= '' then
    redis.call('ZADD', KEYS[2], 0, tk .. '|' .. id)
    redis.call('HSET', KEYS[3], id, tk)
  end
end
return ''
