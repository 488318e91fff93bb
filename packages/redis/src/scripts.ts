/**
 * The Lua scripts hato runs in Redis.
 *
 * COMMIT_SCRIPT applies one commit batch atomically (a script runs alone in Redis, and
 * its writes reach the append-only file and replicas as one MULTI/EXEC block).
 *
 * ARGV[1] is the key prefix; then the batch's changes in order, each an op code and its
 * arguments (see `ARITY`). Changes for a client id that has no session are ignored, as the
 * contract says; whether a session exists is asked once per client id and batch, then tracked.
 *
 * The script declares no KEYS: a batch touches the keys of many sessions, which a Redis
 * Cluster (sharded keyspace) could not serve in one script anyway. Standalone Redis (or
 * Sentinel) only; the `#!lua` line (Redis 7) makes Redis refuse the whole script up front
 * when it is out of memory, instead of failing after some writes.
 */
export const COMMIT_SCRIPT = `#!lua
local p = ARGV[1]
local n = #ARGV
local sessions = p .. 'sessions'
local known = {}
local function exists(cid)
  local k = known[cid]
  if k == nil then
    k = redis.call('SISMEMBER', sessions, cid) == 1
    known[cid] = k
  end
  return k
end
local function drop(cid)
  redis.call('DEL', p .. 'session:' .. cid, p .. 'subs:' .. cid, p .. 'msgs:' .. cid, p .. 'msgstate:' .. cid, p .. 'qos2:' .. cid)
  redis.call('ZREM', p .. 'wills', cid)
  redis.call('ZREM', p .. 'expiry', cid)
end
local i = 2
while i <= n do
  local op = ARGV[i]
  local cid = ARGV[i + 1]
  if op == 'M' then
    if exists(cid) then
      redis.call('HSET', p .. 'msgs:' .. cid, ARGV[i + 2], ARGV[i + 3])
      redis.call('HDEL', p .. 'msgstate:' .. cid, ARGV[i + 2])
    end
    i = i + 4
  elseif op == 'D' then
    redis.call('HDEL', p .. 'msgs:' .. cid, ARGV[i + 2])
    redis.call('HDEL', p .. 'msgstate:' .. cid, ARGV[i + 2])
    i = i + 3
  elseif op == 'T' then
    if exists(cid) and redis.call('HEXISTS', p .. 'msgs:' .. cid, ARGV[i + 2]) == 1 then
      redis.call('HSET', p .. 'msgstate:' .. cid, ARGV[i + 2], ARGV[i + 3])
    end
    i = i + 4
  elseif op == 'R' then
    -- cid holds the retained bucket key suffix here; ARGV[i + 2] the topic
    redis.call('HSET', p .. 'retained:' .. cid, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'U' then
    redis.call('HDEL', p .. 'retained:' .. cid, ARGV[i + 2])
    i = i + 3
  elseif op == 'S' then
    local expiry = tonumber(ARGV[i + 2])
    local at = tonumber(ARGV[i + 3])
    if not exists(cid) then
      drop(cid)
      redis.call('SADD', sessions, cid)
      known[cid] = true
    end
    redis.call('HSET', p .. 'session:' .. cid, 'x', ARGV[i + 2], 'd', ARGV[i + 3])
    if at > 0 and expiry ~= 4294967295 then
      redis.call('ZADD', p .. 'expiry', at + expiry * 1000, cid)
    else
      redis.call('ZREM', p .. 'expiry', cid)
    end
    i = i + 4
  elseif op == 'E' then
    redis.call('SREM', sessions, cid)
    drop(cid)
    known[cid] = false
    i = i + 2
  elseif op == 'B' then
    if exists(cid) then redis.call('HSET', p .. 'subs:' .. cid, ARGV[i + 2], ARGV[i + 3]) end
    i = i + 4
  elseif op == 'N' then
    redis.call('HDEL', p .. 'subs:' .. cid, ARGV[i + 2])
    i = i + 3
  elseif op == 'Q' then
    if exists(cid) then redis.call('SADD', p .. 'qos2:' .. cid, ARGV[i + 2]) end
    i = i + 3
  elseif op == 'q' then
    redis.call('SREM', p .. 'qos2:' .. cid, ARGV[i + 2])
    i = i + 3
  elseif op == 'W' then
    if exists(cid) then
      redis.call('HSET', p .. 'session:' .. cid, 'w', ARGV[i + 3])
      redis.call('ZADD', p .. 'wills', ARGV[i + 2], cid)
    end
    i = i + 4
  elseif op == 'w' then
    redis.call('HDEL', p .. 'session:' .. cid, 'w')
    redis.call('ZREM', p .. 'wills', cid)
    i = i + 2
  else
    return redis.error_reply('hato commit: unknown op ' .. tostring(op) .. ' at ' .. i)
  end
end
return n
`;
