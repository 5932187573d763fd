-- lease_acquire.lua: takes a free lease, or renews one the owner holds.
--
-- KEYS[1] the lease (string: owner)
-- ARGV[1] owner   ARGV[2] time to live, ms
--
-- Returns 1 when the owner holds the lease for ARGV[2] ms from now; 0 when
-- another owner holds it.

local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
