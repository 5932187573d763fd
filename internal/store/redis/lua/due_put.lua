-- due_put.lua: inserts or replaces due items of one shard (due_put in
-- lib/due.lua).
--
-- KEYS[1] items   KEYS[2] ready   KEYS[3] pos   KEYS[4] owner
-- ARGV triples: item ID, time key of DueAt, dueRecord JSON
--
-- Returns, for each item in order, the participant ID of the item it
-- replaced ("" when it is new), so that the caller can drop stale hints.

local sh = due_shard(1)
local out = {}
for j = 1, #ARGV, 3 do
  out[#out + 1] = due_put(sh, ARGV[j], ARGV[j + 1], ARGV[j + 2])
end
return out
