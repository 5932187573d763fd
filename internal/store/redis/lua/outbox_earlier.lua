-- outbox_earlier.lua: the messages of one participant made before a given
-- one that are still Pending, so that a claimer never sends a person's
-- later message while an earlier one waits (two processes claiming one
-- person's replies at once would otherwise send them out of order).
--
-- KEYS[1] pending index (zset, lex: "<timeKey of CreatedAt>|<id>"), a hint
--         written by turn.lua
-- KEYS[2] outbound messages (hash: message ID -> JSON)
-- ARGV[1] the member of the message asked about
--
-- Each earlier member is checked against its record: one that is gone or
-- no longer Pending leaves the index here, which keeps it short. Returns
-- pairs: message ID, record JSON, of the earlier messages still Pending.

local out = {}
for _, member in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[1])) do
  local id = string.match(member, '|(.*)$')
  local doc = id and redis.call('HGET', KEYS[2], id)
  if doc and cjson.decode(doc).status == 'pending' then
    out[#out + 1] = id
    out[#out + 1] = doc
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
return out
