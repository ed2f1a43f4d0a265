// The Lua scripts of the store, as sources: each runs through `connection.script(source)` of
// `@x/connection` (EVALSHA, loaded again after NOSCRIPT, on Cluster too), and the memory fallback
// (memory-backend.ts) answers the same scripts with the same replies. Every script starts with the
// PRELUDE below.

function script(body: string): string {
  return `${PRELUDE}\n${body}`;
}

// Server time (not client clocks) and the index pruning shared by every script. The per-user
// index is a sorted set scored by each session's expiry: pruning drops what has expired, and the
// index itself expires with its last session.
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function prune(idx, now)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  local last = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('DEL', idx)
  else
    redis.call('PEXPIREAT', idx, last[2])
  end
end
`;

/**
 * KEYS: record, index. ARGV: userId, idleMs, absoluteMs (0 = none), id, field, value, ...
 * Returns {createdAt, expiresAt, absoluteExpiresAt} or -1 if the id is taken.
 */
export const CREATE: string = script(`
local now = now_ms()
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local idle = tonumber(ARGV[2])
local abs = tonumber(ARGV[3])
local hard = 0
if abs > 0 then hard = now + abs end
local exp = now + idle
if hard > 0 and hard < exp then exp = hard end
redis.call('HSET', KEYS[1], 'm:u', ARGV[1], 'm:c', now, 'm:a', hard)
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], exp, ARGV[4])
prune(KEYS[2], now)
return {now, exp, hard}
`);

/** KEYS: record. Returns {fields..., pttl} flattened as {hash, pttl} or nil. */
export const READ: string = script(`
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return nil end
return {h, redis.call('PTTL', KEYS[1]), now_ms()}
`);

/**
 * KEYS: record. ARGV: n (number of set arguments), field, value, ..., then fields to delete.
 * Patches only a session that exists: a destroyed session is never brought back. The TTL is
 * untouched. Returns 1, or 0 when the session does not exist.
 */
export const UPDATE: string = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[1])
for i = 2, n, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
for i = n + 2, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
end
return 1
`);

/**
 * KEYS: record, index. ARGV: userId, id, idleMs. Slides the expiry (capped by the absolute
 * lifetime). Returns the new expiry, or 0 when the session does not exist.
 */
export const TOUCH: string = script(`
local now = now_ms()
local meta = redis.call('HMGET', KEYS[1], 'm:u', 'm:a')
if meta[1] ~= ARGV[1] then return 0 end
local hard = tonumber(meta[2])
local exp = now + tonumber(ARGV[3])
if hard > 0 and hard < exp then exp = hard end
if exp <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  prune(KEYS[2], now)
  return 0
end
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], exp, ARGV[2])
prune(KEYS[2], now)
return exp
`);

/** KEYS: record, index. ARGV: userId, id. Returns 1 if destroyed, 0 if it did not exist. */
export const DESTROY: string = script(`
local now = now_ms()
local gone = 0
if redis.call('HGET', KEYS[1], 'm:u') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  gone = 1
end
redis.call('ZREM', KEYS[2], ARGV[2])
prune(KEYS[2], now)
return gone
`);

/**
 * KEYS: old record, new record, index. ARGV: userId, oldId, newId. Moves the record (same data,
 * same remaining TTL) to the new id. Returns the expiry, 0 when missing, -1 when the new id is taken.
 */
export const ROTATE: string = script(`
local now = now_ms()
if redis.call('HGET', KEYS[1], 'm:u') ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local pttl = redis.call('PTTL', KEYS[1])
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
local exp = now + pttl
redis.call('ZADD', KEYS[3], exp, ARGV[3])
prune(KEYS[3], now)
return exp
`);

/** KEYS: index. Prunes, returns {id, expiry, id, expiry, ...}. */
export const LIST: string = script(`
local now = now_ms()
prune(KEYS[1], now)
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
`);

/**
 * KEYS: index, record... ARGV: userId, then the ids of the records, then '', then ids to keep.
 * Destroys the given records (checking their owner) and returns {destroyed, remaining}: the ids
 * still indexed that are not kept (sessions created meanwhile; the caller loops).
 */
export const DESTROY_MANY: string = script(`
local now = now_ms()
local keep = {}
local sep = 0
for i = 2, #ARGV do
  if sep > 0 then keep[ARGV[i]] = true elseif ARGV[i] == '' then sep = i end
end
local destroyed = 0
for k = 2, #KEYS do
  local id = ARGV[k]
  if not keep[id] then
    if redis.call('HGET', KEYS[k], 'm:u') == ARGV[1] then
      redis.call('DEL', KEYS[k])
      destroyed = destroyed + 1
    end
    redis.call('ZREM', KEYS[1], id)
  end
end
prune(KEYS[1], now)
local remaining = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not keep[id] then remaining = remaining + 1 end
end
return {destroyed, remaining}
`);

/**
 * express-session records. KEYS: record, tombstone. ARGV: json, ttlMs.
 * Refuses (0) to write a session destroyed meanwhile (its tombstone is there).
 */
export const XSET: string = script(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/**
 * KEYS: record, tombstone. ARGV: minimum tombstone ms. Deletes the record and leaves a tombstone
 * for the rest of its lifetime, so a request still in flight cannot write it back.
 */
export const XDESTROY: string = script(`
local pttl = redis.call('PTTL', KEYS[1])
local gone = redis.call('DEL', KEYS[1])
local keep = tonumber(ARGV[1])
if pttl > keep then keep = pttl end
redis.call('SET', KEYS[2], '1', 'PX', keep)
return gone
`);

// ---- reconciliation after an outage (fallback: 'memory'); run on Redis only ----------------------

/**
 * Copies a session created in memory during an outage. KEYS: record, index. ARGV: userId, id,
 * idleLeftMs (its remaining idle lifetime, >= 1), hardLeftMs (until its absolute limit, 0 = none),
 * ageMs (since its creation), field, value, ...
 * Never overwrites: returns 0 when the id already exists in Redis. Otherwise writes the record
 * and its index entry with the expiry CREATE would have set, converted to the server clock
 * (expiry = now + min(idleLeft, hardLeft); createdAt = now - age), and returns 1.
 */
export const COPY_SESSION: string = script(`
local now = now_ms()
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local hard = 0
if tonumber(ARGV[4]) > 0 then hard = now + tonumber(ARGV[4]) end
local exp = now + tonumber(ARGV[3])
if hard > 0 and hard < exp then exp = hard end
if exp <= now then return 0 end
redis.call('HSET', KEYS[1], 'm:u', ARGV[1], 'm:c', now - tonumber(ARGV[5]), 'm:a', hard)
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', KEYS[2], exp, ARGV[2])
prune(KEYS[2], now)
return 1
`);

/**
 * Replays a "destroy every session of this user" made in memory. KEYS: index, record...
 * ARGV: userId, ageMs (time since the call), then the id of each record.
 * Destroys each record owned by the user and created before the call (createdAt <= now - age),
 * so a session created after it (a new login) survives. Returns how many were destroyed.
 */
export const DESTROY_OLDER: string = script(`
local now = now_ms()
local cutoff = now - tonumber(ARGV[2])
local destroyed = 0
for k = 2, #KEYS do
  local id = ARGV[k + 1]
  local meta = redis.call('HMGET', KEYS[k], 'm:u', 'm:c')
  if meta[1] ~= ARGV[1] then
    redis.call('ZREM', KEYS[1], id)
  elseif (tonumber(meta[2]) or 0) <= cutoff then
    redis.call('DEL', KEYS[k])
    redis.call('ZREM', KEYS[1], id)
    destroyed = destroyed + 1
  end
end
prune(KEYS[1], now)
return destroyed
`);

/**
 * Copies an express-session record written in memory during an outage. KEYS: record, tombstone.
 * ARGV: json, ttlMs. Never overwrites, never writes a destroyed sid: returns 1 when written, else 0.
 */
export const XCOPY: string = script(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0
`);
