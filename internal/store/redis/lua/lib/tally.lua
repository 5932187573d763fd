-- tally.lua: prepended to the scripts that open or close items in the
-- attention queue's open index (see script in redis.go). It keeps, in the
-- queue's slot, who has open items, so that the whole queue is counted
-- without reading it:
--
-- people (hash): "<kind>|<participant ID>" -> that person's open items of
--   the kind, and "|<participant ID>" -> their open items of any kind
-- tally (hash): "<kind>" -> people with an open item of it, and "" ->
--   people with any
--
-- tally_open counts one open item more (by 1) or fewer (by -1); callers
-- call it only when the open index itself changed, so that a step done
-- twice counts once.
local function tally_open(people, tally, pid, kind, by)
  for _, k in ipairs({kind, ''}) do
    local field = k .. '|' .. pid
    local after = redis.call('HINCRBY', people, field, by)
    if after <= 0 then
      redis.call('HDEL', people, field)
    end
    if (after - by > 0) ~= (after > 0) then
      if redis.call('HINCRBY', tally, k, by) <= 0 then
        redis.call('HDEL', tally, k)
      end
    end
  end
end
