-- attention_hint.lua: lists attention items in the caseworkers' queue
-- before their records are written in the participant's slot (see
-- keys.go). All or nothing.
--
-- KEYS[1] where (hash: item ID -> participant ID)
-- KEYS[2] all (zset, lex)   KEYS[3] open (zset, lex)
-- ARGV[1] participant ID
-- ARGV[2..] triples: item ID, time key of CreatedAt, "1" if open else "0"
--
-- Returns "" when every item was added, or the first item ID that is
-- already known, in which case nothing was added.

for j = 2, #ARGV, 3 do
  if redis.call('HEXISTS', KEYS[1], ARGV[j]) == 1 then
    return ARGV[j]
  end
end
for j = 2, #ARGV, 3 do
  local id, m = ARGV[j], ARGV[j + 1] .. '|' .. ARGV[j]
  redis.call('HSET', KEYS[1], id, ARGV[1])
  redis.call('ZADD', KEYS[2], 0, m)
  if ARGV[j + 2] == '1' then
    redis.call('ZADD', KEYS[3], 0, m)
  end
end
return ''
