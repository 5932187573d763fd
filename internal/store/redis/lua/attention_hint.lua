-- attention_hint.lua: lists attention items in the caseworkers' queue
-- before their records are written in the participant's slot (see
-- keys.go), and counts the open ones (lib/tally.lua). All or nothing.
--
-- KEYS[1] where (hash: item ID -> participant ID)
-- KEYS[2] all (zset, lex)   KEYS[3] open (zset, lex)
-- KEYS[4] people (hash)     KEYS[5] tally (hash)
-- ARGV[1] participant ID
-- ARGV[2..] quadruples: item ID, time key of CreatedAt, "1" if open else
--           "0", kind
--
-- Returns "" when every item was added, or the first item ID that is
-- already known, in which case nothing was added.

for j = 2, #ARGV, 4 do
  if redis.call('HEXISTS', KEYS[1], ARGV[j]) == 1 then
    return ARGV[j]
  end
end
for j = 2, #ARGV, 4 do
  local id, m = ARGV[j], ARGV[j + 1] .. '|' .. ARGV[j]
  redis.call('HSET', KEYS[1], id, ARGV[1])
  redis.call('ZADD', KEYS[2], 0, m)
  if ARGV[j + 2] == '1' and redis.call('ZADD', KEYS[3], 0, m) == 1 then
    tally_open(KEYS[4], KEYS[5], ARGV[1], ARGV[j + 3], 1)
  end
end
return ''
