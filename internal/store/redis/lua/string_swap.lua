-- string_swap.lua: replaces a string key's value only if it is still the
-- value the caller read (compare and set), keeping its expiry, so that a
-- read-modify-write from Go never undoes a deletion or another change.
--
-- KEYS[1] the record (string)
-- ARGV[1] value read   ARGV[2] new value
--
-- Returns 1 when replaced; 0 when the value has changed since; -1 when the
-- key is gone.

local cur = redis.call('GET', KEYS[1])
if not cur then
  return -1
end
if cur ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
