-- pdue_take.lua: takes people whose entry in a due shard's index has come
-- out of it for a claim, leaving a guard in their place that falls due
-- when the claim's lease ends (see dueIndex in keys.go).
--
-- KEYS[1] the shard's index (zset: score = Unix ms)
-- ARGV[1] now (Unix ms)   ARGV[2] the lease's end (Unix ms)
-- ARGV[3..] triples: an entry peeked at, the person it names, the guard
--           to leave for them; an entry naming nobody (not one this store
--           writes) is only dropped
--
-- Returns the people taken. An entry gone or no longer due (another claim
-- took it) is skipped.

local out = {}
for j = 3, #ARGV, 3 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[j])
  if score and tonumber(score) <= tonumber(ARGV[1]) then
    redis.call('ZREM', KEYS[1], ARGV[j])
    if ARGV[j + 1] ~= '' then
      redis.call('ZADD', KEYS[1], ARGV[2], ARGV[j + 2])
      out[#out + 1] = ARGV[j + 1]
    end
  end
end
return out
