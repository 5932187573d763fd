-- link_seen.lua: sets a link's last_seen_at, if the link is still the
-- participant's. Nothing else of the record changes, so whatever another
-- process changed meanwhile (the outbox marking the link unreachable) is
-- kept, and a link deleted meanwhile stays deleted.
--
-- KEYS[1] link (string: Link JSON)
-- ARGV[1] participant ID
-- ARGV[2] the time, as Go writes it in JSON (RFC 3339 with nanoseconds)
--
-- Returns 1 when the time was set, 0 when the link is gone or another
-- participant's.

local doc = redis.call('GET', KEYS[1])
if not doc then
  return 0
end
local link = cjson.decode(doc)
if link.participant_id ~= ARGV[1] then
  return 0
end
link.last_seen_at = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(link), 'KEEPTTL')
return 1
