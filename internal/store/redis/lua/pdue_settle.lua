-- pdue_settle.lua: completes or releases a person's claimed due item if
-- owner still holds it: it was the last to claim it and nobody has
-- replaced it since (lib/pdue.lua). Completed, the item is deleted;
-- released, it is claimable again from its due time, unchanged.
--
-- KEYS[1] the person (hash: their due items beside the record and hints)
-- ARGV[1] the item's field   ARGV[2] owner
-- ARGV[3] the time key of its due time to release it; empty to complete it
--
-- Returns 1 when it is done; -1 when there is no such item; 0 when owner
-- does not hold it (then nothing changes).

local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  return -1
end
local _, owner, rec = pdue_parse(v)
if owner == '' or owner ~= ARGV[2] then
  return 0
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], pdue_value(ARGV[3], '', rec))
end
return 1
