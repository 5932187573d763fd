-- indexed_put.lua: writes a record that must not exist yet, and its entry
-- in its owner's index, in one step (a web session or an API token).
--
-- KEYS[1] the record (string)
-- KEYS[2] the owner's index (zset)
-- ARGV[1] the record's JSON   ARGV[2] index member
-- ARGV[3] expiry, Unix ms, or 0 for none
--
-- Returns 1 when written; 0 when the record exists already.

if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return 1
