-- rate_reserve.lua: reserves units of a send budget with no burst. The key
-- holds the budget's next free moment; a reservation starts at the later
-- of now and that moment and moves it on by the units' duration. Times are
-- Unix seconds and nanoseconds kept apart, because a Lua number cannot hold
-- Unix nanoseconds exactly.
--
-- KEYS[1] the budget (string: "<sec>:<nsec>" of the next free moment)
-- ARGV[1] now, seconds        ARGV[2] now, nanoseconds
-- ARGV[3] duration, seconds   ARGV[4] duration, nanoseconds
-- ARGV[5] how long past the next free moment to keep the key, ms
--
-- Returns "<sec>:<nsec>" of the moment at which the units may be used.

local nowS, nowN = tonumber(ARGV[1]), tonumber(ARGV[2])
local s, n = nowS, nowN
local cur = redis.call('GET', KEYS[1])
if cur then
  local cs, cn = string.match(cur, '^(%-?%d+):(%d+)$')
  cs, cn = tonumber(cs), tonumber(cn)
  if cs and (cs > s or (cs == s and cn > n)) then
    s, n = cs, cn
  end
end
local es, en = s + tonumber(ARGV[3]), n + tonumber(ARGV[4])
if en >= 1000000000 then
  es, en = es + 1, en - 1000000000
end
local ttl = (es - nowS) * 1000 + math.floor((en - nowN) / 1000000) + tonumber(ARGV[5])
if ttl < 1 then
  ttl = 1
end
redis.call('SET', KEYS[1], string.format('%d:%d', es, en), 'PX', string.format('%d', ttl))
return string.format('%d:%d', s, n)
