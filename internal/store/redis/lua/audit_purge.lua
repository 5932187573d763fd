-- audit_purge.lua: takes entries out of the audit log: their record when
-- the log holds it, their location, and their places in the time index and
-- in their participant's index. Used by retention (entries past their
-- time) and by erasure (every entry of the person). A turn's entry lives
-- in its participant's slot; the caller deletes it there first (or, on
-- erasure, with the whole slot right after). Running it again changes
-- nothing.
--
-- KEYS[1] rec (hash)   KEYS[2] where (hash)   KEYS[3] all (zset, lex)
-- KEYS[4..] participants' audit indexes (zset, lex)
-- ARGV triples: entry ID, index member, position in KEYS of the entry's
--               participant index ("0" when it names none)
--
-- Returns the number of entries taken out of the time index.

local n = 0
for j = 1, #ARGV, 3 do
  local id, m, at = ARGV[j], ARGV[j + 1], tonumber(ARGV[j + 2])
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  n = n + redis.call('ZREM', KEYS[3], m)
  if at > 0 then
    redis.call('ZREM', KEYS[at], m)
  end
end
return n
