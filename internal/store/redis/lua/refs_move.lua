-- refs_move.lua: moves one person's hint sets of the layout before (link
-- indexes, appointment IDs) into their refs hash, and deletes the sets.
-- All in the person's slot, so a hint is never in neither place; a move
-- run twice, or beside a process already writing refs, only adds hints,
-- which readers check against the records anyway.
--
-- KEYS[1] link indexes (set)   KEYS[2] appointment IDs (set)
-- KEYS[3] refs (hash)
--
-- Returns the number of hints moved.

local n = 0
for _, ix in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('HSET', KEYS[3], 'l:' .. ix, '')
  n = n + 1
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('HSET', KEYS[3], 'a:' .. id, '')
  n = n + 1
end
redis.call('DEL', KEYS[1], KEYS[2])
return n
