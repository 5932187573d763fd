-- outbox_leave.lua: ends a participant's hold on a message whose claim has
-- ended (outbox_gate.lua), after its record was saved; a message no longer
-- Pending (sent, failed, cancelled) leaves the send order. When the person
-- then holds no message, the messages parked at the head of their send
-- order have nothing left to wait for (the one before them has gone, or a
-- later one whose hold kept them back was handed back) and are woken:
-- they are returned, to be put back in their shards' queues
-- (outbox_wake.lua). The first one not parked (due later, or already
-- queued) and those after it stay as they are.
--
-- KEYS[1] outbound messages (hash)   KEYS[2] send order (zset)
-- KEYS[3] send gate (hash)
-- ARGV[1] message ID
--
-- Returns pairs: ID, record JSON of each message woken.

local id = ARGV[1]
redis.call('HDEL', KEYS[3], id)
local doc = redis.call('HGET', KEYS[1], id)
if not (doc and cjson.decode(doc).status == 'pending') then
  -- It may have left the send order before (a status reported after the
  -- send), or a claim may have dropped it from there between this
  -- update's two steps (outbox_gate.lua).
  redis.call('ZREM', KEYS[2], id)
end

local gate = redis.call('HGETALL', KEYS[3])
local parked = {}
for j = 1, #gate, 2 do
  if gate[j + 1] ~= 'p' then
    return {} -- another message of the person is held: its end wakes them
  end
  parked[gate[j]] = true
end
if next(parked) == nil then
  return {}
end
local out = {}
for _, p in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local pdoc = parked[p] and redis.call('HGET', KEYS[1], p)
  if not pdoc then
    break
  end
  redis.call('HDEL', KEYS[3], p)
  out[#out + 1] = p
  out[#out + 1] = pdoc
end
return out
