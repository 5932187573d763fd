-- programme_draft.lua: saves or drops the programme draft only if its
-- revision is still the one the caller read, so that one administrator's
-- save never silently undoes another's.
--
-- KEYS[1] the draft (string: JSON)   KEYS[2] its revision (string)
-- ARGV[1] revision read ("0": no draft)   ARGV[2] new revision
-- ARGV[3] draft JSON, or "" to drop the draft
--
-- Returns 1 when done; 0 when the revision has changed since.

local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur ~= tonumber(ARGV[1]) then
  if ARGV[3] == '' and cur == 0 then
    return 1
  end
  return 0
end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('SET', KEYS[1], ARGV[3])
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
