-- pdue_step.lua: a due step's changes to its person's items, in the order
-- the store contract gives (lib/pdue.lua): the items planned (each new
-- work, unclaimed), the items dropped, the handled item ended if owner
-- still holds it (gone, or held by another, is no error).
--
-- KEYS[1] the person's due items (hash)
-- ARGV[1] owner   ARGV[2] the ID of the item to end ('' for none)
-- ARGV[3] how many IDs to drop, then those IDs, then pairs: ID, value
--
-- Returns 1 when it ended the item, 0 otherwise.

local drops = tonumber(ARGV[3])
for j = 4 + drops, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1])
end
for j = 4, 3 + drops do
  redis.call('HDEL', KEYS[1], ARGV[j])
end
if ARGV[2] ~= '' then
  local v = redis.call('HGET', KEYS[1], ARGV[2])
  if v then
    local _, owner = pdue_parse(v)
    if owner ~= '' and owner == ARGV[1] then
      redis.call('HDEL', KEYS[1], ARGV[2])
      return 1
    end
  end
end
return 0
