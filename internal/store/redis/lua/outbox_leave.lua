-- outbox_leave.lua: ends a participant's hold on a message whose claim has
-- ended, after its record was saved, and wakes the messages parked behind
-- it (leave, in lua/lib/leave.lua).
--
-- KEYS[1] outbound messages (hash)   KEYS[2] send order (zset)
-- KEYS[3] send gate (hash)
-- ARGV[1] message ID
--
-- Returns pairs: ID, record JSON of each message woken.

return leave(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
