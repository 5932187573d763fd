-- turn.lua: applies one participant's turn inside the participant's slot,
-- all or nothing. Every check comes before the first write, because a
-- script that fails half-way keeps what it already wrote.
--
-- KEYS[1] the person (hash: the record and hints, hints.go)
-- KEYS[2] session (string)
-- KEYS[3] check-ins (zset, lex)           KEYS[4] attention items (hash)
-- KEYS[5] turn audit entries (hash)       KEYS[6] outbound messages (hash)
-- KEYS[7] turn dedupe markers (zset)    KEYS[8] ledger windows (zset, lex)
-- KEYS[9] send order (zset: Pending message IDs, score = order made)
-- KEYS[10] the global dedupe key Seen reads (string), only on a single
--         Redis, where a script may touch keys of any slot, and only when
--         ARGV[5] names one: the key is then checked and written with the
--         turn
-- KEYS[10 or 11...] on a single Redis, the outbox shards' keys of the
--         messages' hints (below)
--
-- ARGV[1] participant JSON, or "" to leave the record as it is
-- ARGV[2] "set" to save the session, "end" to delete it, "" to leave it
-- ARGV[3] session JSON              ARGV[4] session expiry, Unix ms
-- ARGV[5] dedupe key, or ""         ARGV[6] dedupe expiry, Unix ms
-- ARGV[7] the revision the participant was read at (ARGV[1] is one
--         higher): the record must still be at it, or be missing at 0
-- then seven sections, each a count followed by that many groups:
--   check-ins: the whole check-in as a member (a check-in recorded twice
--              is kept once)
--   attention items: ID, JSON
--   resolved attention items: ID, JSON, saved over the stored item, and
--              skipped when there is none
--   windows: the member's prefix (its opening), the whole window as a
--              member, replacing any member with that prefix
--   audit entries: ID, JSON
--   outbound messages: ID, JSON
--   queued messages: the IDs of the Pending ones among them, in the order
--              made: each joins the end of the send order
-- then, only on a single Redis, the outbound messages' hints (keys.go),
-- written here with the records instead of before them, since one script
-- may touch every key there: a count, the participant's ID, and for each
-- message the index in KEYS of its outbox shard's "where" hash (its
-- "ready" and "pos" follow it in KEYS), its ID and the time key of its
-- NotBefore ("" when it is not Pending), as outbox_hint.lua writes them
--
-- Returns {"ok"}; {"dedupe"} when the dedupe key is already recorded;
-- {"stale"} when the participant changed since it was read; or
-- {"exists", kind, ID} when an item, entry or message with that ID is
-- already there. Nothing is written unless the result is {"ok"}.

local i = 8
local function section(width)
  local n = tonumber(ARGV[i])
  local first = i + 1
  i = first + n * width
  return first, n
end
local ciFirst, ciN = section(1)
local atFirst, atN = section(2)
local reFirst, reN = section(2)
local wiFirst, wiN = section(2)
local auFirst, auN = section(2)
local obFirst, obN = section(2)
local quFirst, quN = section(1)
local hintN = tonumber(ARGV[i] or 0)
local hintPID, hintFirst = ARGV[i + 1], i + 2

local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

if ARGV[5] ~= '' then
  local exp = redis.call('ZSCORE', KEYS[7], ARGV[5])
  if exp and tonumber(exp) > nowMs then
    return {'dedupe'}
  end
  if KEYS[10] and redis.call('EXISTS', KEYS[10]) == 1 then
    return {'dedupe'}
  end
end

if ARGV[1] ~= '' then
  local cur = redis.call('HGET', KEYS[1], PERSON_RECORD)
  local rev = 0
  if cur then
    -- Go writes the revision first ({"rev":N,...}); reading it there
    -- spares decoding the record. A record without it there (revision 0
    -- has none) is decoded.
    rev = tonumber(string.match(cur, '^{"rev":(%d+)[,}]')) or tonumber(cjson.decode(cur).rev) or 0
  end
  if rev ~= tonumber(ARGV[7]) then
    return {'stale'}
  end
end

local function taken(key, first, n, width, kind)
  for j = 0, n - 1 do
    local id = ARGV[first + j * width]
    if redis.call('HEXISTS', key, id) == 1 then
      return {'exists', kind, id}
    end
  end
  return nil
end
local clash = taken(KEYS[4], atFirst, atN, 2, 'attention item')
  or taken(KEYS[5], auFirst, auN, 2, 'audit entry')
  or taken(KEYS[6], obFirst, obN, 2, 'message')
if clash then
  return clash
end
for j = 0, hintN - 1 do
  local at = hintFirst + j * 3
  if redis.call('HEXISTS', KEYS[tonumber(ARGV[at])], ARGV[at + 1]) == 1 then
    return {'exists', 'message', ARGV[at + 1]}
  end
end

if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[1], PERSON_RECORD, ARGV[1])
end
if ARGV[2] == 'set' then
  redis.call('SET', KEYS[2], ARGV[3], 'PXAT', ARGV[4])
elseif ARGV[2] == 'end' then
  redis.call('DEL', KEYS[2])
end

for j = 0, ciN - 1 do
  redis.call('ZADD', KEYS[3], 0, ARGV[ciFirst + j])
end
for j = 0, atN - 1 do
  local at = atFirst + j * 2
  redis.call('HSET', KEYS[4], ARGV[at], ARGV[at + 1])
end
for j = 0, reN - 1 do
  local at = reFirst + j * 2
  if redis.call('HEXISTS', KEYS[4], ARGV[at]) == 1 then
    redis.call('HSET', KEYS[4], ARGV[at], ARGV[at + 1])
  end
end
for j = 0, wiN - 1 do
  local at = wiFirst + j * 2
  local prefix = ARGV[at]
  redis.call('ZREMRANGEBYLEX', KEYS[8], '[' .. prefix, '(' .. prefix .. '\255')
  redis.call('ZADD', KEYS[8], 0, ARGV[at + 1])
end
for j = 0, auN - 1 do
  local at = auFirst + j * 2
  redis.call('HSET', KEYS[5], ARGV[at], ARGV[at + 1])
end
for j = 0, obN - 1 do
  local at = obFirst + j * 2
  redis.call('HSET', KEYS[6], ARGV[at], ARGV[at + 1])
end
for j = 0, hintN - 1 do
  local at = hintFirst + j * 3
  local where, id, tk = tonumber(ARGV[at]), ARGV[at + 1], ARGV[at + 2]
  redis.call('HSET', KEYS[where], id, hintPID)
  if tk ~= '' then
    redis.call('ZADD', KEYS[where + 1], 0, tk .. '|' .. id)
    redis.call('HSET', KEYS[where + 2], id, tk)
  end
end
if quN > 0 then
  local last = redis.call('ZRANGE', KEYS[9], -1, -1, 'WITHSCORES')
  local seq = tonumber(last[2] or 0)
  for j = 0, quN - 1 do
    seq = seq + 1
    redis.call('ZADD', KEYS[9], seq, ARGV[quFirst + j])
  end
end

if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[7], ARGV[6], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', nowMs)
  local last = redis.call('ZRANGE', KEYS[7], -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', KEYS[7], last[2])
  end
  if KEYS[10] then
    redis.call('SET', KEYS[10], '1', 'PXAT', ARGV[6])
  end
end
return {'ok'}
