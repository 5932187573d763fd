-- outbox_leave.lua: ends a participant's hold on a message whose claim has
-- ended (outbox_gate.lua), after its record was saved. When the message has
-- left the queue (sent, failed, cancelled) and the person holds no other
-- message, the messages parked behind it are woken: they are returned, to
-- be put back in their shards' queues (outbox_wake.lua).
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
redis.call('ZREM', KEYS[2], id)

local gate = redis.call('HGETALL', KEYS[3])
local parked = {}
for j = 1, #gate, 2 do
  if gate[j + 1] ~= 'p' then
    return {} -- another message of the person is held: its end wakes them
  end
  parked[#parked + 1] = gate[j]
end
local out = {}
for _, p in ipairs(parked) do
  redis.call('HDEL', KEYS[3], p)
  local pdoc = redis.call('HGET', KEYS[1], p)
  if pdoc then
    out[#out + 1] = p
    out[#out + 1] = pdoc
  end
end
return out
