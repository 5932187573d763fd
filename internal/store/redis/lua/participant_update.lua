-- participant_update.lua: saves a participant's record if it is still at
-- the revision the caller read (compare and set), so that a person's turn
-- and a caseworker's edit never overwrite each other.
--
-- KEYS[1] the person (hash: the record and hints, see hints.go)
-- ARGV[1] the revision read     ARGV[2] the new record, one revision higher
--
-- Returns {1, caseworker, child} when saved, with the caseworker ID and
-- child flag ("1" or "0") of the record it replaced, so that the caller
-- can move the caseload entry; {0} when the record has changed since;
-- {-1} when it is gone.

local cur = redis.call('HGET', KEYS[1], PERSON_RECORD)
if not cur then
  return {-1}
end
local old = cjson.decode(cur)
if (tonumber(old.rev) or 0) ~= tonumber(ARGV[1]) then
  return {0}
end
redis.call('HSET', KEYS[1], PERSON_RECORD, ARGV[2])
local cw = old.cw or old.caseworker_id -- the short name, or a record written before it
if type(cw) ~= 'string' then
  cw = ''
end
local child = '0'
if old.child == true then
  child = '1'
end
return {1, cw, child}
