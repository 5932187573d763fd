-- audit_archive.lua: moves turn audit entries that name no participant
-- into the audit log's own slot before the participant's slot is erased,
-- so that the log keeps them (entries naming the participant are erased
-- with them). Idempotent: an interrupted erasure runs it again.
--
-- KEYS[1] rec (hash)   KEYS[2] where (hash)
-- ARGV[1] participant ID
-- ARGV[2..] pairs: entry ID, auditRecord JSON for this hash (records.go)
--
-- Returns the number of entries archived.

local n = 0
for j = 2, #ARGV, 2 do
  local id = ARGV[j]
  n = n + redis.call('HSETNX', KEYS[1], id, ARGV[j + 1])
  if redis.call('HGET', KEYS[2], id) == ARGV[1] then
    redis.call('HDEL', KEYS[2], id)
  end
end
return n
