-- due_delete.lua: deletes due items of one shard, claimed or not. Missing
-- IDs are ignored.
--
-- KEYS[1] items (hash)   KEYS[2] ready (zset, lex)   KEYS[3] pos (hash)
-- KEYS[4] owner (hash)
-- ARGV[1] participant ID: only that participant's items are deleted; ""
--         deletes whatever the IDs name
-- ARGV[2..] item IDs
--
-- Returns pairs for the deleted items: ID, participant ID, so that the
-- caller can drop their hints.

local out = {}
for j = 2, #ARGV do
  local id = ARGV[j]
  local doc = redis.call('HGET', KEYS[1], id)
  if doc then
    local o = cjson.decode(doc)
    local pid = o.p or o.participant_id or ''
    if ARGV[1] == '' or ARGV[1] == pid then
      local p = redis.call('HGET', KEYS[3], id)
      if p then
        redis.call('ZREM', KEYS[2], p .. '|' .. id)
      end
      redis.call('HDEL', KEYS[1], id)
      redis.call('HDEL', KEYS[3], id)
      redis.call('HDEL', KEYS[4], id)
      out[#out + 1] = id
      out[#out + 1] = pid
    end
  end
end
return out
