// One Lua script per algorithm. Each takes KEYS[1] = the limiter key and
// ARGV = limit, windowMs, cost (cost 0 = peek: report without charging) and returns
// { allowed (0|1), remaining, resetAt (server epoch ms), retryAfterMs }.
// Time comes from the Redis server (TIME; Redis >= 5 replicates script effects, so TIME is allowed).
// A rejected request never writes: state changes only when a request is admitted.
//
// Server cost per call is what these scripts are tuned for (one decision = one EVALSHA, three
// commands in the steady state: TIME, one read, one in-place write):
// - a command argument that is a Lua number is formatted by Redis with `%.17g` (slow, also for
//   integers): steady-state writes pass ARGV strings (INCRBY / HINCRBY by the cost) or an
//   integer formatted with `%d`;
// - token-bucket and gcra keep one integer string: a time in 1/4096 ms (binary fixed point, so
//   the double it came from is stored exactly), updated in place with INCRBY (see WRITE_TIME);
// - the expiry of a key is set when the key is created or enters a new window, not on every call;
// - every string-to-number conversion is a strtod: the usual cost of 1 is recognized without one.

const PRELUDE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = 1
if ARGV[3] ~= '1' then cost = tonumber(ARGV[3]) end
`;

/**
 * Windows aligned on multiples of windowMs. State: one hash with the window start `w` and the
 * count `c`; the key expires at the end of its window.
 *
 * The window is stored, not inferred from the key's TTL: Redis expires a key only once its time
 * is strictly past, and a script sees expiry at the time it started while TIME reads the clock
 * now, so in the first millisecond of a window the previous window's key can still be alive.
 * A count read from it would be carried into the new window and then vanish with the old expiry,
 * admitting limit + that count in one window.
 */
export const FIXED_WINDOW = `${PRELUDE}
local cur = now - now % window
local reset = cur + window
local h = redis.call('HMGET', KEYS[1], 'w', 'c')
local used = 0
local same = h[1] and tonumber(h[1]) == cur
if same then used = tonumber(h[2]) or 0 end
if cost > 0 and used + cost <= limit then
  if same then
    used = redis.call('HINCRBY', KEYS[1], 'c', ARGV[3])
  else
    redis.call('HSET', KEYS[1], 'w', string.format('%d', cur), 'c', ARGV[3])
    redis.call('PEXPIREAT', KEYS[1], reset)
    used = cost
  end
  return { 1, limit - used, reset, 0 }
end
if cost == 0 and used < limit then return { 1, limit - used, reset, 0 } end
if used > limit then used = limit end
return { 0, limit - used, reset, reset - now }
`;

/**
 * Sliding window counter: the previous window's count weighted by how much of it still overlaps
 * the sliding window, plus the current window's count. O(1) memory per key: one hash with the
 * window start `w`, the current count `c` and the previous count `p`.
 */
export const SLIDING_WINDOW = `${PRELUDE}
local cur = now - now % window
local h = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local w = tonumber(h[1])
local c = 0
local p = 0
if w == cur then
  c = tonumber(h[2]) or 0
  p = tonumber(h[3]) or 0
elseif w == cur - window then
  p = tonumber(h[2]) or 0
end
local est = p * (window - (now - cur)) / window + c
local reset = cur + window
if cost > 0 and est + cost <= limit + 1e-9 then
  if w == cur then
    redis.call('HINCRBY', KEYS[1], 'c', ARGV[3])
  else
    redis.call('HSET', KEYS[1], 'w', cur, 'c', ARGV[3], 'p', p)
    redis.call('PEXPIREAT', KEYS[1], cur + 2 * window)
  end
  local left = math.floor(limit - est - cost + 1e-9)
  if left < 0 then left = 0 end
  return { 1, left, reset, 0 }
end
local remaining = math.floor(limit - est + 1e-9)
if remaining < 0 then remaining = 0 end
local need = cost
if need == 0 then need = 1 end
if est + need <= limit + 1e-9 then
  return { cost == 0 and 1 or 0, remaining, reset, 0 }
end
local at
if c + need <= limit and p > 0 then
  at = cur + window * (1 - (limit - c - need) / p)
elseif c > 0 then
  at = cur + window + math.max(window * (1 - (limit - need) / c), 0)
else
  at = cur + window
end
return { 0, remaining, reset, math.max(math.ceil(at - now), 1) }
`;

// Writes the time S (an integer in 1/4096 ms, read back as `v`, nil when the key is missing) of
// token-bucket and gcra. The key expires at the end of the window-long epoch S falls in, so it
// outlives S: while S stays in the epoch of the stored value, INCRBY by the difference updates it
// in place and keeps that expiry (cheaper than SET with PX, which replaces the value and the TTL);
// a new epoch (or a new key) sets the value and the expiry with SET.
const WRITE_TIME = `
local span = window * 4096
local epoch = math.floor(s / span)
if v and math.floor(v / span) == epoch then
  redis.call('INCRBY', KEYS[1], string.format('%d', s - v))
else
  redis.call('SET', KEYS[1], string.format('%d', s), 'PX', (epoch + 1) * window - now)
end
`;

/**
 * Bucket of `limit` tokens refilled continuously at `limit` per `windowMs`. State: the time at
 * which the bucket is full again (tokens = limit - (fullAt - now) * limit / windowMs), stored as
 * an integer in 1/4096 ms.
 */
export const TOKEN_BUCKET = `${PRELUDE}
local v = tonumber(redis.call('GET', KEYS[1]))
local d = 0
if v then
  d = v / 4096 - now
  if d < 0 then d = 0 end
end
local tokens = limit - d * limit / window
if cost > 0 and tokens + 1e-9 >= cost then
  tokens = tokens - cost
  if tokens < 0 then tokens = 0 end
  local full = (limit - tokens) * window / limit
  local s = math.floor((now + full) * 4096)
  ${WRITE_TIME}
  return { 1, math.floor(tokens + 1e-9), now + math.ceil(full), 0 }
end
local need = cost
if need == 0 then need = 1 end
if tokens + 1e-9 >= need then
  return { cost == 0 and 1 or 0, math.floor(tokens + 1e-9), now + math.ceil(d), 0 }
end
return { 0, math.floor(tokens + 1e-9), now + math.ceil(d), math.max(math.ceil((need - tokens) * window / limit), 1) }
`;

/**
 * Generic cell rate algorithm: one theoretical arrival time per key (an integer in 1/4096 ms),
 * emission interval windowMs / limit, burst up to limit.
 */
export const GCRA = `${PRELUDE}
local interval = window / limit
local v = tonumber(redis.call('GET', KEYS[1]))
local tat = now
if v and v / 4096 > now then tat = v / 4096 end
local need = cost
if need == 0 then need = 1 end
local allowAt = tat + need * interval - window
if cost > 0 and allowAt <= now + 1e-6 then
  tat = tat + cost * interval
  local s = math.floor(tat * 4096)
  ${WRITE_TIME}
  local left = math.floor((window - (tat - now)) / interval + 1e-6)
  if left < 0 then left = 0 end
  return { 1, left, math.ceil(tat), 0 }
end
local remaining = math.floor((window - (tat - now)) / interval + 1e-6)
if remaining < 0 then remaining = 0 end
if allowAt <= now + 1e-6 then
  return { cost == 0 and 1 or 0, remaining, math.ceil(tat), 0 }
end
return { 0, remaining, math.ceil(tat), math.max(math.ceil(allowAt - now), 1) }
`;
