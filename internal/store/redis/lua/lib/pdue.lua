-- pdue.lua: prepended to the scripts that change a person's due items
-- (see script in redis.go).
--
-- A person's due items are fields of their person hash ({p:<pid>}:person),
-- beside the record and hints: a field beginning "w" or "i" (itemField in
-- due.go) -> "<time key it is claimable at><the owner's length, three
-- digits><owner of the current or last claim><record JSON>", or the record
-- alone for an item no claim has held since it was put, claimable at its
-- due time. An item is claimable at its due time until a claim moves it to
-- the claim's end; a claim's owner stays after the lease ends, until
-- another owner claims the item, so that a late owner can still end the
-- work it did.

-- pdue_item says whether a field of the person hash is a due item's.
local function pdue_item(field)
  local c = string.sub(field, 1, 1)
  return c == 'w' or c == 'i'
end

-- pdue_rest is the time key of the due time a record gives: its first
-- "t" (written before the data; a quote inside a string value is always
-- escaped) as Unix seconds of up to eleven digits with up to nine digits
-- of fraction. nil for anything else. restingKey in due.go reads it the
-- same way, and TestRestingKeyIsReadAsTheScriptsReadIt holds them equal.
local function pdue_rest(rec)
  local _, e = string.find(rec, '"t":"', 1, true)
  if not e then
    return nil
  end
  local sec, frac = string.match(rec, '^(%d+)%.?(%d*)"', e + 1)
  if not sec or #sec > 11 or #frac > 9 then
    return nil
  end
  return string.format('%012d', tonumber(sec) + 62135596800) .. frac .. string.rep('0', 9 - #frac)
end

-- pdue_parse splits a value into its claimable time key, owner and record.
local function pdue_parse(v)
  if string.sub(v, 1, 1) == '{' then
    return pdue_rest(v) or '', '', v
  end
  local n = tonumber(string.sub(v, 22, 24))
  return string.sub(v, 1, 21), string.sub(v, 25, 24 + n), string.sub(v, 25 + n)
end

-- pdue_value joins them again: the record alone when no owner holds it
-- and it is claimable at its due time.
local function pdue_value(ready, owner, rec)
  if owner == '' and pdue_rest(rec) == ready then
    return rec
  end
  return ready .. string.format('%03d', #owner) .. owner .. rec
end

-- pdue_next is the earliest claimable time key among the items of the
-- person hash at key that no claim holds, '' when there are none: a held
-- item has an index entry of its own until it is ended (see due.go).
local function pdue_next(key)
  local first = ''
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    if pdue_item(all[i]) then
      local at, owner = pdue_parse(all[i + 1])
      if owner == '' and (first == '' or at < first) then
        first = at
      end
    end
  end
  return first
end
