-- attention_close.lua: takes resolved items out of the attention queue's
-- open index, after their records say so, and counts them out of who has
-- open items (lib/tally.lua). An item already out is left alone, so a
-- close done twice (the resolver and ListAttention's repair) counts once.
--
-- KEYS[1] open (zset, lex)   KEYS[2] people (hash)   KEYS[3] tally (hash)
-- ARGV triples: open index member (time key|item ID), participant ID, kind
--
-- Returns the number of items taken out.

local n = 0
for j = 1, #ARGV, 3 do
  if redis.call('ZREM', KEYS[1], ARGV[j]) == 1 then
    tally_open(KEYS[2], KEYS[3], ARGV[j + 1], ARGV[j + 2], -1)
    n = n + 1
  end
end
return n
