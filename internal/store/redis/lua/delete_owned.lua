-- delete_owned.lua: deletes a JSON record kept under its own key (a link,
-- an appointment) only if it belongs to the given participant, so that
-- erasing one person never removes what has since moved to another.
--
-- KEYS[1] the record (string: JSON naming its participant "p", or
--         "participant_id" as records written before do)
-- ARGV[1] participant ID
--
-- Returns 1 when deleted, 0 otherwise.

local doc = redis.call('GET', KEYS[1])
local rec = doc and cjson.decode(doc)
if rec and (rec.p or rec.participant_id) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
