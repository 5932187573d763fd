-- due_settle.lua: completes or releases a claimed due item (due_settle in
-- lib/due.lua).
--
-- KEYS[1] items   KEYS[2] ready   KEYS[3] pos   KEYS[4] owner
-- ARGV[1] item ID        ARGV[2] owner
-- ARGV[3] the time key of its DueAt to release it; empty to complete it
-- ARGV[4] the participant ID whose item it is
--
-- Returns 1 when it is done; -1 when the participant has no such item; 0
-- when the owner does not hold it.

return due_settle(due_shard(1), ARGV[1], ARGV[2], ARGV[3], ARGV[4])
