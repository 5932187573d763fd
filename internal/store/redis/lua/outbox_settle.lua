-- outbox_settle.lua: repairs the shard entries of messages a claimer has
-- just claimed but must not send, because the record in the participant's
-- slot says otherwise (a second step that did not happen, or a record that
-- is not there yet or any more). Acts only on entries the claimer still
-- holds.
--
-- KEYS[1] ready (zset, lex)   KEYS[2] pos (hash)   KEYS[3] owner (hash)
-- KEYS[4] where (hash)        KEYS[5] orphan (hash)
-- ARGV[1] owner               ARGV[2] time key at which the claim ends
-- ARGV[3] time key of now     ARGV[4] time key of now - orphan grace
-- ARGV[5] time key of now + orphan retry
-- ARGV[6] time key of now + the first orphan retry, which is soon: a
--         record is usually missing only while its turn is being written
-- ARGV[7..] pairs: message ID, verdict:
--   "final"    the message is not Pending: it leaves the queue
--   "at:<tk>"  Pending, but not before <tk>: back in the queue then
--   "missing"  no record: retried a little later, and forgotten once it has
--              been missing for the whole grace (its turn never landed)
--
-- Returns the number of entries changed.

local owner, leaseEnd = ARGV[1], ARGV[2]
local n = 0
local function move(id, tk)
  redis.call('ZREM', KEYS[1], leaseEnd .. '|' .. id)
  redis.call('ZADD', KEYS[1], 0, tk .. '|' .. id)
  redis.call('HSET', KEYS[2], id, tk)
  redis.call('HDEL', KEYS[3], id)
end
for j = 7, #ARGV, 2 do
  local id, verdict = ARGV[j], ARGV[j + 1]
  if redis.call('HGET', KEYS[3], id) == owner and redis.call('HGET', KEYS[2], id) == leaseEnd then
    n = n + 1
    if verdict == 'final' then
      redis.call('ZREM', KEYS[1], leaseEnd .. '|' .. id)
      redis.call('HDEL', KEYS[2], id)
      redis.call('HDEL', KEYS[3], id)
      redis.call('HDEL', KEYS[5], id)
    elseif verdict == 'missing' then
      local first = redis.call('HGET', KEYS[5], id)
      if not first then
        redis.call('HSET', KEYS[5], id, ARGV[3])
        move(id, ARGV[6])
      elseif first <= ARGV[4] then
        redis.call('ZREM', KEYS[1], leaseEnd .. '|' .. id)
        redis.call('HDEL', KEYS[2], id)
        redis.call('HDEL', KEYS[3], id)
        redis.call('HDEL', KEYS[4], id)
        redis.call('HDEL', KEYS[5], id)
      else
        move(id, ARGV[5])
      end
    else
      move(id, string.sub(verdict, 4))
      redis.call('HDEL', KEYS[5], id)
    end
  end
end
return n
