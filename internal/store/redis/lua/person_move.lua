-- person_move.lua: moves one person's record, hints and due items of the
-- layouts before into their person hash, and deletes the old keys: the
-- record (a string of its own) to the record's field; the hints, whether
-- kept as two sets (link indexes, appointment IDs) or as a hash of their
-- own, to fields "l:<index>" and "a:<ID>"; and the due items, a hash by
-- their whole IDs, to the fields itemField in due.go names, their values
-- as they are (pdue_parse reads the form they have). All in the person's
-- slot, so nothing is ever in neither place. A record or item already in
-- the person hash was written by this version, so it is kept; a move run
-- twice, or beside a process already writing the person hash, only adds
-- hints, which readers check against the records anyway.
--
-- KEYS[1] link indexes (set)   KEYS[2] appointment IDs (set)
-- KEYS[3] hints (hash)         KEYS[4] the record (string)
-- KEYS[5] due items (hash)          KEYS[6] the person (hash)
-- ARGV[1] "win:<participant ID>:", which begins the IDs of a window's
--         items
--
-- Returns the number of records and hints moved.

local n = 0
for _, ix in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('HSET', KEYS[6], 'l:' .. ix, '')
  n = n + 1
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('HSET', KEYS[6], 'a:' .. id, '')
  n = n + 1
end
for _, f in ipairs(redis.call('HKEYS', KEYS[3])) do
  redis.call('HSET', KEYS[6], f, '')
  n = n + 1
end
local rec = redis.call('GET', KEYS[4])
if rec then
  redis.call('HSETNX', KEYS[6], PERSON_RECORD, rec)
  n = n + 1
end
local items = redis.call('HGETALL', KEYS[5])
for i = 1, #items, 2 do
  local id = items[i]
  local field = 'i' .. id
  if string.sub(id, 1, #ARGV[1]) == ARGV[1] then
    field = 'w' .. string.sub(id, #ARGV[1] + 1)
  end
  redis.call('HSETNX', KEYS[6], field, items[i + 1])
  n = n + 1
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return n
