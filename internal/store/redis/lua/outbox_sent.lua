-- outbox_sent.lua: records that the provider accepted a message, and ends
-- the person's hold on it (leave, in lua/lib/leave.lua): the first step
-- of MarkSent. The record given (status queued) replaces the stored one
-- unless the provider has reported a later status meanwhile (a status
-- callback can come before the send is recorded): that one is not undone,
-- and is returned instead, for the caller to add the send's details to it
-- and swap it in (swap.lua). Reading the status and writing in one script
-- leaves no moment in which a status could land and be overwritten. Either
-- way the message has left the queue, so its hold ends in the same step.
--
-- KEYS[1] the participant's outbox (hash: message ID -> record)
-- KEYS[2] their send order (zset)   KEYS[3] their send gate (hash)
-- ARGV[1] message ID   ARGV[2] the record at status queued
--
-- Returns {0} when there is no such record; otherwise {1, "", woken...}
-- when saved, or {1, the stored record, woken...} when its status is past
-- queued, where woken are the pairs leave returns.

local past = {sent = true, delivered = true, read = true, undelivered = true, failed = true}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  return {0}
end
local kept = ''
-- A record that does not read as JSON holds no status to keep: it is
-- replaced, as it was when the dispatcher read the record first.
local ok, rec = pcall(cjson.decode, cur)
if ok and type(rec) == 'table' and past[rec.status] then
  kept = cur
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
local out = {1, kept}
for _, v in ipairs(leave(KEYS[1], KEYS[2], KEYS[3], ARGV[1], true)) do
  out[#out + 1] = v
end
return out
