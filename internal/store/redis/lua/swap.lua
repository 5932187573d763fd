-- swap.lua: replaces a hash field's value only if it is still the value
-- the caller read (compare and set), so that a read-modify-write from Go
-- never overwrites someone else's change.
--
-- KEYS[1] the hash
-- ARGV[1] field   ARGV[2] value read   ARGV[3] new value
--
-- Returns 1 when replaced; 0 when the value has changed since; -1 when the
-- field is gone.

local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  return -1
end
if cur ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
