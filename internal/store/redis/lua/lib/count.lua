-- count.lua: prepended to the scripts that count an event in a window (see
-- script in redis.go): counter_incr.lua, and begin_send.lua, which counts
-- a message for the loop guard on its first look.
--
-- count adds one to counter key, a string holding an integer, and returns
-- the new count; the first event of a window sets its end (until, Unix
-- ms), later ones do not move it.
local function count(key, until_ms)
  local n = redis.call('INCR', key)
  if n == 1 then
    redis.call('PEXPIREAT', key, until_ms)
  end
  return n
end
