// One Lua script per algorithm. Each takes KEYS[1] = the limiter key and
// ARGV = limit, windowMs, cost (cost 0 = peek: report without charging) and returns
// { allowed (0|1), remaining, resetAt (server epoch ms), retryAfterMs }, with the meanings
// documented on RateLimitResult (types.ts); the local limiter (local-limiter.ts) decides alike.
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
 *
 * `room` (limit - estimate) decides admission and gives `remaining` (its floor), so the two never
 * disagree. resetAt: the estimate is 0 again at the end of the next window while the current one
 * has a count (that count slides out during the next window), else at the end of the current one
 * while the previous one still weighs, else now. A refusal's wait is the earliest whole ms at which
 * `fits` holds: `fits(t)` is the very test a later call at time t would make on this state, so
 * the request is admitted at now + wait and not one ms sooner (the closed-form first guess can be
 * off by a ms through rounding; each loop corrects it in a step or two and is bounded).
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
local room = limit - (p * (window - (now - cur)) / window + c) + 1e-9
if cost > 0 and room >= cost then
  if w == cur then
    redis.call('HINCRBY', KEYS[1], 'c', ARGV[3])
  else
    redis.call('HSET', KEYS[1], 'w', cur, 'c', ARGV[3], 'p', p)
    redis.call('PEXPIREAT', KEYS[1], cur + 2 * window)
  end
  local left = math.floor(room - cost)
  if left < 0 then left = 0 end
  return { 1, left, cur + 2 * window, 0 }
end
local remaining = math.floor(room)
if remaining < 0 then remaining = 0 end
local reset = now
if c > 0 then reset = cur + 2 * window elseif p > 0 then reset = cur + window end
local need = cost
if need == 0 then need = 1 end
if room >= need then return { 1, remaining, reset, 0 } end
local function fits(t)
  local tc = t - t % window
  local e = 0
  if tc == cur then
    e = p * (window - (t - cur)) / window + c
  elseif tc == cur + window then
    e = c * (window - (t - tc)) / window
  end
  return limit - e + 1e-9 >= need
end
local at
if c + need <= limit and p > 0 then
  at = cur + window * (1 - (limit - c - need) / p)
elseif c > 0 then
  at = cur + window + window * (1 - (limit - need) / c)
else
  at = cur + window
end
local r = math.ceil(at - now)
if r < 1 then r = 1 end
for _ = 1, 8 do
  if r <= 1 or not fits(now + r - 1) then break end
  r = r - 1
end
for _ = 1, 8 do
  if fits(now + r) then break end
  r = r + 1
end
if reset < now + r then reset = now + r end
return { 0, remaining, reset, r }
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
 * A bucket of `limit` units refilled continuously at `limit` per `windowMs`, kept as one time:
 * when the bucket is full again (stored as an integer in 1/4096 ms). `d` = that time - now (>= 0),
 * so the bucket holds `limit - d * limit / window` units; a request of cost n moves the time
 * n * windowMs / limit later. This is a token bucket and it is GCRA (the stored time is GCRA's
 * theoretical arrival time, the burst is `limit`): both algorithms run this script.
 *
 * Everything is computed from `d`, which is exact (a difference of two times that are multiples
 * of 1/4096 ms), so the local limiter, which keeps the same integer, decides bit for bit alike.
 * The new time is rounded down to 1/4096 ms on the small number `d + cost × interval`, not on the
 * epoch-sized sum (whose float is rounded to the nearest 1/4096 ms, up as often as down: a charge
 * rounded up could take a unit of the limit away).
 * `room` decides admission and gives `remaining`; after a charge, `remaining` and resetAt come
 * from the time as stored (rounded down to 1/4096 ms), which is what the next call reads. A
 * refusal's wait is the earliest whole ms r at which `fits(r)` holds, the test a later call would
 * make (first guess in closed form, corrected by bounded loops).
 */
const BUCKET = `${PRELUDE}
local v = tonumber(redis.call('GET', KEYS[1]))
local d = 0
if v then
  d = v / 4096 - now
  if d < 0 then d = 0 end
end
local room = limit - d * limit / window + 1e-9
if cost > 0 and room >= cost then
  local s = now * 4096 + math.floor((d + cost * window / limit) * 4096)
  ${WRITE_TIME}
  d = s / 4096 - now
  local left = math.floor(limit - d * limit / window + 1e-9)
  if left < 0 then left = 0 end
  return { 1, left, now + math.ceil(d), 0 }
end
local remaining = math.floor(room)
if remaining < 0 then remaining = 0 end
local reset = now + math.ceil(d)
local need = cost
if need == 0 then need = 1 end
if room >= need then return { 1, remaining, reset, 0 } end
local function fits(k)
  local dk = d - k
  if dk < 0 then dk = 0 end
  return limit - dk * limit / window + 1e-9 >= need
end
local r = math.ceil(d - (limit - need) * window / limit)
if r < 1 then r = 1 end
for _ = 1, 8 do
  if r <= 1 or not fits(r - 1) then break end
  r = r - 1
end
for _ = 1, 8 do
  if fits(r) then break end
  r = r + 1
end
if reset < now + r then reset = now + r end
return { 0, remaining, reset, r }
`;

/** Token bucket: `limit` tokens, refilled continuously at `limit` per `windowMs` (see BUCKET). */
export const TOKEN_BUCKET = BUCKET;

/**
 * Generic cell rate algorithm: emission interval windowMs / limit, burst up to limit. The same
 * decisions as the token bucket (see BUCKET): its stored time is the theoretical arrival time.
 */
export const GCRA = BUCKET;
