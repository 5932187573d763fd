-- link_unreachable.lua: marks a link unreachable and, on a single Redis,
-- writes the caseworker's "can't reach" item and the audit entry with it,
-- all or nothing. On a Redis Cluster the link lives in another slot than
-- the participant's records: the records are written first (turn.lua)
-- and this script is called with the link alone, so that a failure in
-- between leaves at worst an item without its mark, never a mark without
-- its item.
--
-- KEYS[1] link (string: Link JSON, its participant "p" or, written before,
--         "participant_id")
-- KEYS[2] attention items (hash), KEYS[3] turn audit entries (hash):
--         both given, or neither (a cluster)
-- ARGV[1] participant ID   ARGV[2] the link's reason
-- ARGV[3] attention item ID   ARGV[4] its JSON
-- ARGV[5] audit entry ID      ARGV[6] its JSON
--
-- Returns 1 when marked; 0 when the link is gone, another participant's
-- or unreachable already; -1 when the item's or entry's ID is in use.
-- Nothing is written unless the result is 1.

local doc = redis.call('GET', KEYS[1])
if not doc then
  return 0
end
local link = cjson.decode(doc)
if (link.p or link.participant_id) ~= ARGV[1] or link.unreachable == true then
  return 0
end
local records = #KEYS >= 3
if records and (redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 or redis.call('HEXISTS', KEYS[3], ARGV[5]) == 1) then
  return -1
end
link.unreachable = true
link.reason = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(link), 'KEEPTTL')
if records then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
end
return 1
