-- time_range.lua: reads the records of a time index in one step, so that
-- every listed ID comes with its record.
--
-- KEYS[1] time index (zset, lex: "<time key>|<ID>")
-- KEYS[2] records (hash: ID -> JSON)
-- ARGV[1] lowest member (ZRANGEBYLEX form, e.g. "[<time key>" or "-")
--
-- Returns the records, oldest first.

local ms = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+')
local out = {}
for _, m in ipairs(ms) do
  local doc = redis.call('HGET', KEYS[2], string.sub(m, 23))
  if doc then
    out[#out + 1] = doc
  end
end
return out
