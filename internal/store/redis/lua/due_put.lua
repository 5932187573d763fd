-- due_put.lua: inserts or replaces due items of one shard. A replaced item
-- is new work: claimable at its new due time, and no earlier claim on it
-- counts any more.
--
-- KEYS[1] items (hash: ID -> dueRecord JSON)  KEYS[2] ready (zset, lex)
-- KEYS[3] pos (hash)                          KEYS[4] owner (hash)
-- ARGV triples: item ID, time key of DueAt, dueRecord JSON
--
-- Returns, for each item in order, the participant ID of the item it
-- replaced ("" when it is new), so that the caller can drop stale hints.

local out = {}
for j = 1, #ARGV, 3 do
  local id, tk, doc = ARGV[j], ARGV[j + 1], ARGV[j + 2]
  local was = ''
  local old = redis.call('HGET', KEYS[1], id)
  if old then
    local o = cjson.decode(old)
    was = o.p or o.participant_id or ''
  end
  local p = redis.call('HGET', KEYS[3], id)
  if p then
    redis.call('ZREM', KEYS[2], p .. '|' .. id)
  end
  redis.call('HSET', KEYS[1], id, doc)
  redis.call('ZADD', KEYS[2], 0, tk .. '|' .. id)
  redis.call('HSET', KEYS[3], id, tk)
  redis.call('HDEL', KEYS[4], id)
  out[#out + 1] = was
end
return out
