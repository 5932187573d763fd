-- due.lua: prepended to the scripts that change due items (see script in
-- redis.go): due_put.lua, due_delete.lua and due_settle.lua.
--
-- A shard is a table of its four key names: items (hash: ID -> dueRecord
-- JSON), ready (zset, lex: "<time key>|<ID>"), pos (hash: ID -> its time
-- key in ready) and owner (hash: ID -> owner of the current or last
-- claim).

-- due_owner is the participant ID a due record names (older records
-- spell it out).
local function due_owner(doc)
  local o = cjson.decode(doc)
  return o.p or o.participant_id or ''
end

-- due_of reports whether a due record is pid's: at a glance when the
-- record starts with its participant, as the store writes it, and pid
-- needs no escaping in JSON; else by reading it.
local function due_of(doc, pid)
  if string.find(pid, '^[%w_%-:]+$') then
    local head = '{"p":"' .. pid .. '",'
    if string.sub(doc, 1, #head) == head then
      return true
    end
  end
  return due_owner(doc) == pid
end

-- due_unready takes an item out of its shard's ready index.
local function due_unready(sh, id)
  local p = redis.call('HGET', sh.pos, id)
  if p then
    redis.call('ZREM', sh.ready, p .. '|' .. id)
  end
end

-- due_put inserts or replaces an item, claimable at time key tk. A
-- replaced item is new work: no earlier claim on it counts any more.
-- Returns the participant ID of the item it replaced, '' when it is new.
local function due_put(sh, id, tk, doc)
  local was = ''
  local old = redis.call('HGET', sh.items, id)
  if old then
    was = due_owner(old)
  end
  due_unready(sh, id)
  redis.call('HSET', sh.items, id, doc)
  redis.call('ZADD', sh.ready, 0, tk .. '|' .. id)
  redis.call('HSET', sh.pos, id, tk)
  redis.call('HDEL', sh.owner, id)
  return was
end

-- due_delete deletes an item, claimed or not, if it belongs to pid.
-- Returns pid, or nil when nothing was deleted.
local function due_delete(sh, id, pid)
  local doc = redis.call('HGET', sh.items, id)
  if not (doc and due_of(doc, pid)) then
    return nil
  end
  due_unready(sh, id)
  redis.call('HDEL', sh.items, id)
  redis.call('HDEL', sh.pos, id)
  redis.call('HDEL', sh.owner, id)
  return pid
end

-- due_settle ends a claim on pid's item if owner still holds it (it was
-- the last to claim it and nobody has replaced it since): completed
-- (release ''), the item is deleted; released (release: the time key of
-- its due time), it is claimable again from then, unchanged.
--
-- Returns 1 when it is done; -1 when pid has no such item; 0 when owner
-- does not hold it (then nothing changes).
local function due_settle(sh, id, owner, release, pid)
  local doc = redis.call('HGET', sh.items, id)
  if not (doc and due_of(doc, pid)) then
    return -1
  end
  if redis.call('HGET', sh.owner, id) ~= owner then
    return 0
  end
  due_unready(sh, id)
  redis.call('HDEL', sh.owner, id)
  if release ~= '' then
    redis.call('ZADD', sh.ready, 0, release .. '|' .. id)
    redis.call('HSET', sh.pos, id, release)
    return 1
  end
  redis.call('HDEL', sh.items, id)
  redis.call('HDEL', sh.pos, id)
  return 1
end

-- due_shard is the shard whose four keys start at KEYS[i].
local function due_shard(i)
  return { items = KEYS[i], ready = KEYS[i + 1], pos = KEYS[i + 2], owner = KEYS[i + 3] }
end
