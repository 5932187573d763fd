-- outbox_sent.lua: records that the provider accepted a message, the first
-- step of MarkSent. The record given (status queued) replaces the stored
-- one unless the provider has reported a later status meanwhile (a status
-- callback can come before the send is recorded): that one is not undone,
-- and is returned instead, for the caller to add the send's details to it
-- and swap it in (swap.lua). Reading the status and writing in one script
-- leaves no moment in which a status could land and be overwritten.
--
-- KEYS[1] the participant's outbox (hash: message ID -> record)
-- ARGV[1] message ID   ARGV[2] the record at status queued
--
-- Returns 1 when saved, 0 when there is no such record, or the stored
-- record when its status is past queued.

local past = {sent = true, delivered = true, read = true, undelivered = true, failed = true}
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  return 0
end
-- A record that does not read as JSON holds no status to keep: it is
-- replaced, as it was when the dispatcher read the record first.
local ok, rec = pcall(cjson.decode, cur)
if ok and type(rec) == 'table' and past[rec.status] then
  return cur
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
