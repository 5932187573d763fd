-- pdue_claim.lua: leases up to a number of one person's claimable due
-- items to an owner, earliest first (lib/pdue.lua).
--
-- KEYS[1] the person (hash: their due items beside the record and hints)
-- ARGV[1] time key of now   ARGV[2] time key at which the lease ends
-- ARGV[3] owner             ARGV[4] how many at most
--
-- Returns four values for each item claimed, earliest first: field, the time
-- key it was claimable at, the owner it had, its record; then the
-- earliest claimable time key of the person's items no claim holds after
-- it ('' when there are none).

local all = redis.call('HGETALL', KEYS[1])
local ready = {}
local items = {}
for i = 1, #all, 2 do
  if pdue_item(all[i]) then
    local at, owner = pdue_parse(all[i + 1])
    items[#items + 1] = { at = at, owner = owner, id = all[i], v = all[i + 1] }
    if at <= ARGV[1] then
      ready[#ready + 1] = items[#items]
    end
  end
end
table.sort(ready, function(a, b)
  return a.at < b.at or (a.at == b.at and a.id < b.id)
end)
local out = {}
local taken = {}
for j = 1, math.min(#ready, tonumber(ARGV[4])) do
  local r = ready[j]
  local _, owner, rec = pdue_parse(r.v)
  redis.call('HSET', KEYS[1], r.id, pdue_value(ARGV[2], ARGV[3], rec))
  taken[r.id] = true
  out[#out + 1] = r.id
  out[#out + 1] = r.at
  out[#out + 1] = owner
  out[#out + 1] = rec
end
-- The earliest of the items no claim holds, from what was read: those
-- just claimed are held now.
local first = ''
for _, it in ipairs(items) do
  if not taken[it.id] and it.owner == '' and (first == '' or it.at < first) then
    first = it.at
  end
end
out[#out + 1] = first
return out
