-- setup_take.lua: uses the first-administrator setup token once: deletes
-- it only when the hash given is the one kept, so a wrong guess does not
-- spend the real link.
--
-- KEYS[1] the setup token (string: its hash, PEXPIREAT its expiry)
-- ARGV[1] the hash presented
--
-- Returns 1 when taken; 0 otherwise.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
