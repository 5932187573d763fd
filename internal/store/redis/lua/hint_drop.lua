-- hint_drop.lua: takes records out of a located index: attention items out
-- of the queue's indexes, audit entries out of the log's. Used when the
-- turn that hinted them was refused, and (attention) when a participant is
-- erased or a resolved item purged. Only records located at the given
-- participant are touched, so a record that landed is never dropped.
--
-- KEYS[1] where (hash)   KEYS[2] all (zset, lex)
-- KEYS[3] the second index (zset, lex): the open items, or the
--         participant's own audit entries
-- KEYS[4] people (hash), KEYS[5] tally (hash): for attention items only,
--         whose open ones are counted there (lib/tally.lua)
-- ARGV[1] participant ID
-- ARGV[2..] pairs: record ID, time key of its time; triples with the
--           item's kind when KEYS[4] is given
--
-- Returns the number of records dropped.

local counted = #KEYS >= 5
local stride = 2
if counted then
  stride = 3
end
local n = 0
for j = 2, #ARGV, stride do
  local id = ARGV[j]
  if redis.call('HGET', KEYS[1], id) == ARGV[1] then
    local m = ARGV[j + 1] .. '|' .. id
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], m)
    if redis.call('ZREM', KEYS[3], m) == 1 and counted then
      tally_open(KEYS[4], KEYS[5], ARGV[1], ARGV[j + 2], -1)
    end
    n = n + 1
  end
end
return n
