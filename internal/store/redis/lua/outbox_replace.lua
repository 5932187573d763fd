-- outbox_replace.lua: replaces a message's record in its participant's
-- slot, only if the record is there: the first step of UpdateOutbound. One
-- script, so that a record deleted meanwhile (the participant erased) is
-- never written back, and no read from Go has to come first.
--
-- KEYS[1] the participant's outbox (hash: message ID -> record)
-- ARGV[1] message ID   ARGV[2] the new record
--
-- Returns 1 when replaced, 0 when there is no such record.

if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
