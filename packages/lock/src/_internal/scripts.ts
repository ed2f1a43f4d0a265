// Lua scripts of the lock. Ownership is the random token stored as the lock's value; every
// change is a compare-and-X on that token, so only the owner can release or extend.

/**
 * KEYS[1] = lock, KEYS[2] = fencing counter; ARGV[1] = token, ARGV[2] = ttl ms.
 * Returns one integer: the fencing token (> 0) when acquired; when held by another token,
 * `-1 - pttl` (< 0) with the holder's remaining TTL in ms, or 0 when that TTL is unknown (no TTL).
 * The success path is four commands (SET NX PX, TIME, GET, SET); the failure path three
 * (SET NX PX, GET, PTTL).
 * The fencing token is the larger of the counter + 1 and the server time in microseconds, so it
 * keeps increasing when the counter is lost: a restart without the data, or a failover to a
 * replica that had not received the last increments (replication is asynchronous). Across a
 * failover that holds as long as the new primary's clock is not behind the old one's by more than
 * the time the failover took.
 * A re-sent acquire of the same token is answered with the token it got.
 */
export const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local t = redis.call('TIME')
  local fence = (tonumber(redis.call('GET', KEYS[2])) or 0) + 1
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  if fence < now then fence = now end
  redis.call('SET', KEYS[2], string.format('%d', fence))
  return fence
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]))
end
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then return 0 end
return -1 - pttl
`;

/** KEYS[1] = lock; ARGV[1] = token. Deletes the lock if the token owns it; returns 1 or 0. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * `RELEASE` that also announces the release (notify mode): publishes on a channel named like the
 * lock key; returns 1 or 0.
 */
export const RELEASE_NOTIFY = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[1], '')
  return 1
end
return 0
`;

/** KEYS[1] = lock; ARGV[1] = token, ARGV[2] = ttl ms. Resets the TTL if the token owns it; 1 or 0. */
export const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/**
 * Quorum mode: KEYS[1] = fencing counter; ARGV[1] = the fencing token granted. Raises the counter
 * to at least that value, so any later majority (which overlaps this one) issues a larger token.
 */
export const RAISE_FENCE = `
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
local granted = tonumber(ARGV[1])
if fence < granted then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
`;
