-- outbox_gate.lua: decides which of one participant's claimed messages a
-- claimer may send now, so that the person's messages leave in the order
-- they were made, whichever process sends them. A message may go only when
-- every Pending message of the person made before it goes in the same
-- claim or is held by the same owner (whose dispatcher sends a person's
-- messages one after another, in the order it claimed them), and no other
-- owner holds one of the person's messages. What may go is marked held by
-- the owner until its lease ends; the rest is marked parked, to be woken
-- when the message it waits for has left the queue (outbox_leave.lua), not
-- looked at again round after round.
--
-- KEYS[1] outbound messages (hash: ID -> JSON)
-- KEYS[2] send order (zset: Pending message IDs, score = order made)
-- KEYS[3] send gate (hash: ID -> "h|<lease end>|<owner>" or "p")
-- ARGV[1] owner    ARGV[2] time key of now    ARGV[3] time key of lease end
-- ARGV[4..] IDs of the claimed messages, each Pending and due by its record
--
-- An entry of the send order whose record is gone or no longer Pending is
-- dropped on the way (an update whose second step did not happen). A
-- claimed message missing from the send order (queued before it existed)
-- joins its end.
--
-- Returns the IDs that may go, in the order made, each followed by its
-- place in the send order: a person's messages an owner claims over
-- several rounds of one claim are put in order by it.

local owner, now, leaseEnd = ARGV[1], ARGV[2], ARGV[3]
local claimed = {}
for j = 4, #ARGV do
  claimed[ARGV[j]] = true
end

-- Held messages: by another owner, the person waits for them; by this
-- owner, from an earlier claim it is still working on, they are not
-- handed out twice, and the person's later ones may follow them.
local held, mine, blocked = {}, {}, false
local gate = redis.call('HGETALL', KEYS[3])
for j = 1, #gate, 2 do
  local until_, who = string.match(gate[j + 1], '^h|([^|]*)|(.*)$')
  if until_ then
    if until_ <= now then
      redis.call('HDEL', KEYS[3], gate[j]) -- a lease that ran out holds nothing
    else
      held[gate[j]] = true
      mine[gate[j]] = who == owner
      blocked = blocked or who ~= owner
    end
  end
end

local go, seqOf = {}, {}
local order = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for k = 1, #order, 2 do
  local id = order[k]
  if claimed[id] then
    claimed[id] = nil
    blocked = blocked or held[id]
    if not blocked then
      go[#go + 1] = id
      seqOf[id] = order[k + 1]
    end
  elseif not blocked and not mine[id] then
    local doc = redis.call('HGET', KEYS[1], id)
    if doc and cjson.decode(doc).status == 'pending' then
      blocked = true -- an earlier message is still to go
    else
      redis.call('ZREM', KEYS[2], id)
      redis.call('HDEL', KEYS[3], id)
    end
  end
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local seq = tonumber(last[2] or 0)
for j = 4, #ARGV do
  local id = ARGV[j]
  if claimed[id] then
    seq = seq + 1
    redis.call('ZADD', KEYS[2], seq, id)
    if not blocked then
      go[#go + 1] = id
      seqOf[id] = tostring(seq)
    end
  end
end

local going, out = {}, {}
for _, id in ipairs(go) do
  going[id] = true
  redis.call('HSET', KEYS[3], id, 'h|' .. leaseEnd .. '|' .. owner)
  out[#out + 1] = id
  out[#out + 1] = seqOf[id]
end
for j = 4, #ARGV do
  local id = ARGV[j]
  -- A held message stays held (a wake put it back in its shard's queue
  -- while its owner held it).
  if not going[id] and not held[id] then
    redis.call('HSET', KEYS[3], id, 'p')
  end
end
return out
