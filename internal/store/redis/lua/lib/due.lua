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

-- due_delete deletes an item, claimed or not, if it belongs to pid ('':
-- whoever it belongs to). Returns the participant ID it belonged to, or
-- nil when nothing was deleted.
local function due_delete(sh, id, pid)
  local doc = redis.call('HGET', sh.items, id)
  if not doc then
    return nil
  end
  local was = due_owner(doc)
  if pid ~= '' and pid ~= was then
    return nil
  end
  due_unready(sh, id)
  redis.call('HDEL', sh.items, id)
  redis.call('HDEL', sh.pos, id)
  redis.call('HDEL', sh.owner, id)
  return was
end

-- due_settle ends a claimed item's claim if owner still holds it (it was
-- the last to claim it and nobody has replaced it since): completed
-- (release ''), the item is deleted; released (release: the time key of
-- its due time), it is claimable again from then, unchanged.
--
-- Returns, completed, the deleted item's JSON, and released, 1; -1 when
-- there is no such item; 0 when owner does not hold it (then nothing
-- changes).
local function due_settle(sh, id, owner, release)
  local doc = redis.call('HGET', sh.items, id)
  if not doc then
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
  return doc
end

-- due_shard is the shard whose four keys start at KEYS[i].
local function due_shard(i)
  return { items = KEYS[i], ready = KEYS[i + 1], pos = KEYS[i + 2], owner = KEYS[i + 3] }
end
