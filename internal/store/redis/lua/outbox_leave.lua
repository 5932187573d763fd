-- outbox_leave.lua: ends a participant's hold on a message whose claim has
-- ended (outbox_gate.lua), after its record was saved. When the message
-- has just left the queue (sent, failed, cancelled) and the person holds
-- no other message, the messages parked at the head of the person's send
-- order are woken: they are returned, to be put back in their shards'
-- queues (outbox_wake.lua). The first one not parked (due later, or
-- already queued) and those after it stay as they are.
--
-- KEYS[1] outbound messages (hash)   KEYS[2] send order (zset)
-- KEYS[3] send gate (hash)
-- ARGV[1] message ID
--
-- Returns pairs: ID, record JSON of each message woken.

local id = ARGV[1]
redis.call('HDEL', KEYS[3], id)
local doc = redis.call('HGET', KEYS[1], id)
if doc and cjson.decode(doc).status == 'pending' then
  return {} -- still to go: whatever waits behind it waits on
end
if redis.call('ZREM', KEYS[2], id) == 0 then
  return {} -- it had left before (a status reported after the send)
end

local gate = redis.call('HGETALL', KEYS[3])
local parked = {}
for j = 1, #gate, 2 do
  if gate[j + 1] ~= 'p' then
    return {} -- another message of the person is held: its end wakes them
  end
  parked[gate[j]] = true
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
