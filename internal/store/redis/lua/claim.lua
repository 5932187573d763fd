-- claim.lua: leases up to a number of claimable entries of one shard (due
-- items or outbox messages) to an owner, earliest first. An entry is
-- claimable when its time key is at or before now: a fresh item at its due
-- time, a claimed one when its lease ends. Claiming moves the entry to the
-- end of the lease, so no other claimer can take it before then.
--
-- KEYS[1] ready (zset, lex)   KEYS[2] pos (hash)   KEYS[3] owner (hash)
-- KEYS[4] data (hash: ID -> what to return with it: the due item's JSON, or
--         the message's participant ID)
-- ARGV[1] time key of now     ARGV[2] time key at which the lease ends
-- ARGV[3] owner               ARGV[4] how many at most
--
-- Returns a flat list of pairs in claim order: the entry as it was in the
-- ready index ("<time key it became claimable at>|<ID>"), then its data.

local ready = redis.call('ZRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[1] .. '~', 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, m in ipairs(ready) do
  local id = string.sub(m, 23)
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[1], 0, ARGV[2] .. '|' .. id)
  redis.call('HSET', KEYS[2], id, ARGV[2])
  redis.call('HSET', KEYS[3], id, ARGV[3])
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', KEYS[4], id) or ''
end
return out
