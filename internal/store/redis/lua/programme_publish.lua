-- programme_publish.lua: publishes the next programme version, only if the
-- live version is still the one the caller drafted from, so that two
-- publishers never both win and every process sees one version at a time.
--
-- KEYS[1] the live version number (string)   KEYS[2] versions (hash)
-- KEYS[3] version headers (hash)
-- ARGV[1] basis   ARGV[2] new number   ARGV[3] version JSON with files
-- ARGV[4] version JSON without files
--
-- Returns 1 when published; 0 when the live version is no longer ARGV[1].

local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
redis.call('SET', KEYS[1], ARGV[2])
return 1
