-- child_release.lua: takes back child claims that are still as the
-- caller saw them: a claim renewed since (its score changed) is kept,
-- since a write that needs it may be on its way.
--
-- KEYS[1] the account's child claims (zset: participant ID, score = when
--         claimed, Unix ms)
-- ARGV    pairs: participant ID, the score seen
--
-- Returns how many claims it took back.

local n = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
