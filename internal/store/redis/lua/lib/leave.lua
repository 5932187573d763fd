-- leave.lua: prepended to the scripts that end a participant's hold on a
-- message (see script in redis.go): outbox_leave.lua, and outbox_sent.lua,
-- which records a send and ends its hold in one step.
--
-- leave ends the hold (outbox_gate.lua) on message id, after its record
-- was saved; a message no longer Pending (sent, failed, cancelled) leaves
-- the send order. When the person then holds no message, the messages
-- parked at the head of their send order have nothing left to wait for
-- (the one before them has gone, or a later one whose hold kept them back
-- was handed back) and are woken: they are returned, to be put back in
-- their shards' queues (outbox_wake.lua). The first one not parked (due
-- later, or already queued) and those after it stay as they are.
--
-- outbox: outbound messages (hash)   order: send order (zset)
-- gate: send gate (hash)
-- gone: true when the caller knows the message is no longer Pending (it
-- has just recorded so), which spares reading and decoding its record
--
-- Returns pairs: ID, record JSON of each message woken.
local function leave(outbox, order, gate, id, gone)
  redis.call('HDEL', gate, id)
  local doc = not gone and redis.call('HGET', outbox, id)
  if not (doc and cjson.decode(doc).status == 'pending') then
    -- It may have left the send order before (a status reported after the
    -- send), or a claim may have dropped it from there between this
    -- update's two steps (outbox_gate.lua).
    redis.call('ZREM', order, id)
  end

  local held = redis.call('HGETALL', gate)
  local parked = {}
  for j = 1, #held, 2 do
    if held[j + 1] ~= 'p' then
      return {} -- another message of the person is held: its end wakes them
    end
    parked[held[j]] = true
  end
  if next(parked) == nil then
    return {}
  end
  local out = {}
  for _, p in ipairs(redis.call('ZRANGE', order, 0, -1)) do
    local pdoc = parked[p] and redis.call('HGET', outbox, p)
    if not pdoc then
      break
    end
    redis.call('HDEL', gate, p)
    out[#out + 1] = p
    out[#out + 1] = pdoc
  end
  return out
end
