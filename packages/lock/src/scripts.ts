// Lua scripts of the lock. Ownership is the random token stored as the lock's value; every
// change is a compare-and-X on that token, so only the owner can release or extend.
//
// Server time per lock matters (it is what a busy Redis spends on locks), so the scripts keep
// the number of `redis.call`s and of Lua number conversions low: each `redis.call` costs about
// as much as a small command, and the script call itself about as much again.

/**
 * KEYS[1] = lock, KEYS[2] = fencing counter; ARGV[1] = token, ARGV[2] = ttl ms.
 * Returns one integer: the fencing token (> 0) when acquired; when held by another token,
 * `-1 - pttl` (< 0) with the holder's remaining TTL in ms, or 0 when that TTL is unknown (no TTL).
 *
 * The fencing token is the larger of the counter + 1 and the server time in microseconds, so it
 * keeps increasing when the counter is lost: a restart without the data, or a failover to a
 * replica that had not received the last acquisitions (replication is asynchronous). Across a
 * failover that holds as long as the new primary's clock is not behind the old one's by more than
 * the time the failover took.
 *
 * The success path is three commands: `SET NX PX`, `TIME`, and `SET counter <now> GET`, which
 * writes the time and reads the previous counter in one step (Redis >= 6.2). Only when that
 * previous value is not below the time (two acquisitions within one microsecond, or a clock
 * stepped back) is the counter set once more, to previous + 1. The time stays a string (seconds
 * and zero-padded microseconds side by side): equal-length decimal strings compare like the
 * numbers, so the common path converts no number but the reply.
 *
 * A re-sent acquire of the same token is answered with the token it got. The failure path is
 * three commands (`SET NX PX`, `GET`, `PTTL`).
 */
export const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local t = redis.call('TIME')
  local us = t[2]
  local now = t[1] .. string.rep('0', 6 - #us) .. us
  local previous = redis.call('SET', KEYS[2], now, 'GET')
  if previous and (#previous > #now or (#previous == #now and previous >= now)) then
    local fence = (tonumber(previous) or 0) + 1
    redis.call('SET', KEYS[2], string.format('%d', fence))
    return fence
  end
  return tonumber(now)
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
