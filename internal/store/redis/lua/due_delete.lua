-- due_delete.lua: deletes due items of one shard, claimed or not. Missing
-- IDs are ignored.
--
-- KEYS[1] items   KEYS[2] ready   KEYS[3] pos   KEYS[4] owner
-- ARGV[1] participant ID: only that participant's items are deleted
-- ARGV[2..] item IDs
--
-- Returns pairs for the deleted items: ID, participant ID, so that the
-- caller can drop their hints.

local sh = due_shard(1)
local out = {}
for j = 2, #ARGV do
  local was = due_delete(sh, ARGV[j], ARGV[1])
  if was then
    out[#out + 1] = ARGV[j]
    out[#out + 1] = was
  end
end
return out
