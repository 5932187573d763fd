-- linked_turn.lua: reads a link and what a turn of its participant starts
-- from (record, session, dedupe marker), in one round trip. For a single
-- Redis only: which participant's keys to read is known only once the link
-- is read, so those keys cannot be named in KEYS. Outside a cluster Redis
-- lets a script read keys it was not given; on a cluster they would lie in
-- another slot, and the store reads the link and the turn in two steps
-- there instead (turn.go). The key names are built here from the pieces
-- keys.go makes, around the participant ID, so that they are named in one
-- place.
--
-- KEYS[1] link (string: Link JSON)
-- KEYS[2] the global dedupe key Seen reads (string), only when ARGV[1] is
--         not ""
--
-- ARGV[1] dedupe key, or ""
-- ARGV[2] what every participant-slot key name starts with, before the ID
-- ARGV[3] what the person hash's key name ends with, after the ID
-- ARGV[4] the same for the session
-- ARGV[5] the same for the turn dedupe markers
--
-- Returns {} when there is no link; otherwise {link JSON, participant
-- JSON or nil, session JSON or nil, the dedupe marker's expiry (Unix ms)
-- or nil, 1 when the global dedupe key exists else 0}.

local link = redis.call('GET', KEYS[1])
if not link then
  return {}
end
-- The participant ID is read where the record writes it, without decoding
-- the whole record, which cost several times as much.
-- A quote inside a string value is always written \", so '"p":"' with its
-- quotes unescaped can only be the field itself (a link has no object
-- inside it). An ID holding an escape, or a record written otherwise
-- (before the short name, "participant_id"), is decoded.
local function plain_participant_id(doc)
  local _, open = string.find(doc, '"p":"', 1, true)
  local close = open and string.find(doc, '"', open + 1, true)
  local id = close and string.sub(doc, open + 1, close - 1)
  if id and not string.find(id, '\\', 1, true) then
    return id
  end
  return nil
end
local pid = plain_participant_id(link)
if not pid then
  local rec = cjson.decode(link)
  pid = rec.p or rec.participant_id
end
local function key(suffix)
  return ARGV[2] .. pid .. suffix
end
local participant = redis.call('HGET', key(ARGV[3]), PERSON_RECORD)
local session = redis.call('GET', key(ARGV[4]))
local marker = false
local global = 0
if ARGV[1] ~= '' then
  marker = redis.call('ZSCORE', key(ARGV[5]), ARGV[1])
  global = redis.call('EXISTS', KEYS[2])
end
return {link, participant, session, marker, global}
