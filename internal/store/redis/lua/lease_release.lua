-- lease_release.lua: gives a lease up if the owner holds it.
--
-- KEYS[1] the lease (string: owner)
-- ARGV[1] owner
--
-- Returns 1 when released; 0 when the owner did not hold it.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
