-- pdue.lua: prepended to the scripts that change a person's due items
-- (see script in redis.go).
--
-- A person's due items are one hash in their slot ({p:<pid>}:dueitems):
-- item ID -> "<time key it is claimable at><the owner's length, three
-- digits><owner of the current or last claim><record JSON>". An item is
-- claimable at its due time until a claim moves it to the claim's end; a
-- claim's owner stays after the lease ends, until another owner claims
-- the item, so that a late owner can still end the work it did.

-- pdue_parse splits a value into its claimable time key, owner and record.
local function pdue_parse(v)
  local n = tonumber(string.sub(v, 22, 24))
  return string.sub(v, 1, 21), string.sub(v, 25, 24 + n), string.sub(v, 25 + n)
end

-- pdue_value joins them again.
local function pdue_value(ready, owner, rec)
  return ready .. string.format('%03d', #owner) .. owner .. rec
end

-- pdue_next is the earliest claimable time key among the items of the
-- hash at key that no claim holds, '' when there are none: a held item
-- has an index entry of its own until it is ended (see due.go).
local function pdue_next(key)
  local first = ''
  for _, v in ipairs(redis.call('HVALS', key)) do
    local r = string.sub(v, 1, 21)
    if string.sub(v, 22, 24) == '000' and (first == '' or r < first) then
      first = r
    end
  end
  return first
end
