-- outbox_sending.lua: records that a claimed message is being handed to
-- its provider (MarkSending): the record given, which carries the attempt
-- and the moment the send began, replaces the stored one while that is
-- still pending. A status reported meanwhile (for an earlier send in
-- doubt) has moved the message on; it is then left as it is, for the
-- caller not to send it again. The shard's queue is not touched, so the
-- claim stands.
--
-- KEYS[1] the participant's outbox (hash: message ID -> record)
-- ARGV[1] message ID   ARGV[2] the record as it is being sent
--
-- Returns 1 when saved, 0 when there is no such record, -1 when the
-- stored record is no longer pending.

local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  return 0
end
local ok, rec = pcall(cjson.decode, cur)
if not ok or type(rec) ~= 'table' or rec.status ~= 'pending' then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
