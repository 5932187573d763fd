-- link_seen.lua: sets when a link was last seen ("ls"), if it is still the
-- participant's. Nothing else of the record changes, so whatever another
-- process changed meanwhile (the outbox marking the link unreachable) is
-- kept, and a link deleted meanwhile stays deleted.
--
-- KEYS[1] link (string: Link JSON, internal/store/compact: the participant
--         is "p", or "participant_id" in a record written before)
-- ARGV[1] participant ID
-- ARGV[2] the time, as internal/store/compact writes it (Unix seconds)
--
-- Returns 1 when the time was set, 0 when the link is gone or another
-- participant's.

local doc = redis.call('GET', KEYS[1])
if not doc then
  return 0
end
local link = cjson.decode(doc)
if (link.p or link.participant_id) ~= ARGV[1] then
  return 0
end
link.ls = ARGV[2]
link.last_seen_at = nil -- a record written before the short name
redis.call('SET', KEYS[1], cjson.encode(link), 'KEEPTTL')
return 1
