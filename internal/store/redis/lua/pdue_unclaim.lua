-- pdue_unclaim.lua: gives back items a claim took beyond what it could
-- keep, as they were before it: claimable from the same time, held by the
-- same owner (lib/pdue.lua). An item replaced or taken over since is left
-- alone.
--
-- KEYS[1] the person (hash: their due items beside the record and hints)
-- ARGV[1] time key at which the claim's lease ends   ARGV[2] owner
-- ARGV[3..] triples: item field, the time key it was claimable at before,
--           the owner it had before
--
-- Returns the earliest claimable time key of the person's items no claim
-- holds ('' when none).

for j = 3, #ARGV, 3 do
  local v = redis.call('HGET', KEYS[1], ARGV[j])
  if v then
    local at, owner, rec = pdue_parse(v)
    if at == ARGV[1] and owner == ARGV[2] then
      redis.call('HSET', KEYS[1], ARGV[j], pdue_value(ARGV[j + 1], ARGV[j + 2], rec))
    end
  end
end
return pdue_next(KEYS[1])
