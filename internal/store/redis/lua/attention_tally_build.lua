-- attention_tally_build.lua: writes the counts of who has open items
-- (lib/tally.lua), built from the open items' records, into a Redis that
-- has none yet (data written by an earlier version). Only the first of
-- several processes starting at once writes them.
--
-- KEYS[1] people (hash)   KEYS[2] tally (hash)   KEYS[3] built (string)
-- ARGV[1] the version to mark built
-- ARGV[2] how many pairs for people follow; then those pairs (field,
--         count), then the pairs for tally
--
-- Returns 1 when written, 0 when another process had built them.

if redis.call('SET', KEYS[3], ARGV[1], 'NX') == false then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
local split = 3 + 2 * tonumber(ARGV[2])
for j = 3, #ARGV, 2 do
  local key = KEYS[1]
  if j >= split then
    key = KEYS[2]
  end
  redis.call('HSET', key, ARGV[j], ARGV[j + 1])
end
return 1
