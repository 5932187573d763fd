-- pdue_step.lua: a due step's changes to its person's items, in the order
-- the store contract gives (lib/pdue.lua): the items planned (each new
-- work, unclaimed), the items dropped, the handled item ended if owner
-- still holds it (gone, or held by another, is no error).
--
-- On a single Redis, where one script may touch keys of any slot, it also
-- does what a cluster does in a round trip after it: lowers the person's
-- entry in their due shard to the earliest item planned (only lowering,
-- after the items, as PutDue does), takes the ended item's own entry out
-- of the shard, and gives the step's planning lease up.
--
-- KEYS[1] the person (hash: their due items beside the record and hints)
-- KEYS[2] on a single Redis: the person's due shard (zset)
-- KEYS[3] on a single Redis, when the step holds one: its lease (string)
-- ARGV[1] owner   ARGV[2] the field of the item to end ('' for none)
-- ARGV[3] the score to lower the person's entry to ('' for none)
-- ARGV[4] the person's entry   ARGV[5] the ended item's entry
--         (ARGV[3] to ARGV[5] are used only with KEYS[2])
-- ARGV[6] how many items to drop, then their fields, then pairs: field,
--         value
--
-- Returns 1 when it ended the item, 0 otherwise.

local drops = tonumber(ARGV[6])
for j = 7 + drops, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1])
end
for j = 7, 6 + drops do
  redis.call('HDEL', KEYS[1], ARGV[j])
end
local ended = 0
if ARGV[2] ~= '' then
  local v = redis.call('HGET', KEYS[1], ARGV[2])
  if v then
    local _, owner = pdue_parse(v)
    if owner ~= '' and owner == ARGV[1] then
      redis.call('HDEL', KEYS[1], ARGV[2])
      ended = 1
    end
  end
end
if KEYS[2] then
  if ARGV[3] ~= '' then
    redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[4])
  end
  if ended == 1 then
    redis.call('ZREM', KEYS[2], ARGV[5])
  end
end
if KEYS[3] and redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
return ended
