-- audit_add.lua: adds entries to the audit log's indexes, refusing any ID
-- already in the log. An entry appended on its own is stored here whole; a
-- turn's entry is stored in the participant's slot with the rest of the
-- turn, and only its location is kept here (written first, see keys.go).
--
-- KEYS[1] rec (hash: ID -> auditRecord JSON, records.go)
-- KEYS[2] where (hash: ID -> participant slot holding the entry)
-- KEYS[3] all (zset, lex)
-- KEYS[4] the participant's audit index (zset, lex)
-- ARGV[1] participant whose slot holds turn entries ("" for lone entries)
-- ARGV[2..] quadruples: entry ID, time key of At, "1" if the entry names
--           the participant of KEYS[4] else "0", JSON ("" for a turn entry)
--
-- Returns "" when every entry was added, or the first ID already in the
-- log, in which case nothing was added.

for j = 2, #ARGV, 4 do
  local id = ARGV[j]
  if redis.call('HEXISTS', KEYS[1], id) == 1 or redis.call('HEXISTS', KEYS[2], id) == 1 then
    return id
  end
end
for j = 2, #ARGV, 4 do
  local id, m, doc = ARGV[j], ARGV[j + 1] .. '|' .. ARGV[j], ARGV[j + 3]
  if doc ~= '' then
    redis.call('HSET', KEYS[1], id, doc)
  else
    redis.call('HSET', KEYS[2], id, ARGV[1])
  end
  redis.call('ZADD', KEYS[3], 0, m)
  if ARGV[j + 2] == '1' then
    redis.call('ZADD', KEYS[4], 0, m)
  end
end
return ''
