-- counter_incr.lua: counts one event in a window that ends when the key
-- expires; the first event of a window sets its end, later ones do not
-- move it.
--
-- KEYS[1] the counter (string: integer)
-- ARGV[1] end of the window if this event starts one, Unix ms
--
-- Returns the new count.

local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
return n
