-- counter_incr.lua: counts one event in a window that ends when the key
-- expires (count, in lua/lib/count.lua).
--
-- KEYS[1] the counter (string: integer)
-- ARGV[1] end of the window if this event starts one, Unix ms
--
-- Returns the new count.

return count(KEYS[1], ARGV[1])
