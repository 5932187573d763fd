-- begin_send.lua: what a send starts from, in one round trip (BeginSend):
-- the participant and the link are read, the send's dedupe key is set if
-- it is not there (SET NX PXAT, as FirstSeen), and when it was new the
-- counter is counted (count, in lua/lib/count.lua). For a single Redis
-- only: the keys lie in different slots; on a cluster the store sends the
-- reads and the key in one pipeline and counts in a second step.
--
-- KEYS[1] the person (hash, hints.go)  KEYS[2] dedupe key (string)
-- KEYS[3] link (string: JSON)          KEYS[4] counter (string), only
--                                      when ARGV[2] is not ""
-- ARGV[1] the dedupe key's expiry, Unix ms
-- ARGV[2] end of the counter's window if this starts one, Unix ms; or ""
--         to count nothing
--
-- Returns {participant JSON or false, 1 if the key was new else 0, link
-- JSON or false, the counter's new count or 0}.

local first = redis.call('SET', KEYS[2], '1', 'PXAT', ARGV[1], 'NX') and 1 or 0
local n = 0
if first == 1 and ARGV[2] ~= '' then
  n = count(KEYS[4], ARGV[2])
end
return {redis.call('HGET', KEYS[1], PERSON_RECORD), first, redis.call('GET', KEYS[3]), n}
