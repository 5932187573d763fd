-- child_claim.lua: claims a caseworker for a child, if their account is
-- trained in child protection, before the child's record (in another
-- slot) names them. Taking the training away (account_put.lua) is refused
-- while a claim stands, and both run in this slot, so one of the two
-- always sees the other.
--
-- KEYS[1] the account records (hash: account ID → Account JSON)
-- KEYS[2] the account's child claims (zset: participant ID, score = when
--         claimed, Unix ms)
-- ARGV[1] account ID   ARGV[2] participant ID
--
-- Returns {1, score} when claimed anew, {0, score} when the claim was
-- there and its time is renewed, {-1, 0} when the account is not
-- trained, {2, 0} when there is no such account (no caseworker: nothing
-- to claim).

local doc = redis.call('HGET', KEYS[1], ARGV[1])
if not doc then
  return {2, 0}
end
if cjson.decode(doc).child_protection_trained ~= true then
  return {-1, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local had = redis.call('ZSCORE', KEYS[2], ARGV[2])
-- A renewed claim always gets a new score, so that a release by the
-- score it saw before (child_release.lua) leaves it alone.
if had and tonumber(had) >= now then
  now = tonumber(had) + 1
end
redis.call('ZADD', KEYS[2], now, ARGV[2])
if had then
  return {0, now}
end
return {1, now}
