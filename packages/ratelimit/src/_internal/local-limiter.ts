import type { RateLimitAlgorithm, RateLimitResult } from '../types.js';

/** Per-key state; the meaning of a/b/c depends on the algorithm (see each decide function). */
interface Entry {
  a: number;
  b: number;
  c: number;
  /** Epoch ms after which the entry carries no information and can be dropped. */
  exp: number;
}

type Decide = (
  entry: Entry | undefined,
  limit: number,
  window: number,
  cost: number,
  now: number,
  out: Entry,
) => RateLimitResult;

const EPS = 1e-9;

function result(
  allowed: boolean,
  limit: number,
  remaining: number,
  resetAt: number,
  retryAfterMs: number,
): RateLimitResult {
  return { allowed, limit, remaining, resetAt, retryAfterMs, source: 'local' };
}

// a = count, exp = window end.
const fixedWindow: Decide = (entry, limit, window, cost, now, out) => {
  const reset = now - (now % window) + window;
  const used = entry !== undefined && entry.exp > now ? entry.a : 0;
  if (cost > 0 && used + cost <= limit) {
    out.a = used + cost;
    out.exp = reset;
    return result(true, limit, limit - used - cost, reset, 0);
  }
  const need = cost === 0 ? 1 : cost;
  if (used + need <= limit) return result(cost === 0, limit, limit - used, reset, 0);
  return result(false, limit, Math.max(limit - used, 0), reset, reset - now);
};

// a = window start, b = current count, c = previous count. The same computation as the
// SLIDING_WINDOW script, expression for expression (see its comment).
const slidingWindow: Decide = (entry, limit, window, cost, now, out) => {
  const cur = now - (now % window);
  let c = 0;
  let p = 0;
  if (entry !== undefined) {
    if (entry.a === cur) {
      c = entry.b;
      p = entry.c;
    } else if (entry.a === cur - window) {
      p = entry.b;
    }
  }
  const room = limit - ((p * (window - (now - cur))) / window + c) + EPS;
  if (cost > 0 && room >= cost) {
    out.a = cur;
    out.b = c + cost;
    out.c = p;
    out.exp = cur + 2 * window;
    return result(true, limit, Math.max(Math.floor(room - cost), 0), cur + 2 * window, 0);
  }
  const remaining = Math.max(Math.floor(room), 0);
  let reset = now;
  if (c > 0) reset = cur + 2 * window;
  else if (p > 0) reset = cur + window;
  const need = cost === 0 ? 1 : cost;
  if (room >= need) return result(true, limit, remaining, reset, 0);
  // The test a later call at time t makes on this state.
  const fits = (t: number): boolean => {
    const tc = t - (t % window);
    let e = 0;
    if (tc === cur) e = (p * (window - (t - cur))) / window + c;
    else if (tc === cur + window) e = (c * (window - (t - tc))) / window;
    return limit - e + EPS >= need;
  };
  let at: number;
  if (c + need <= limit && p > 0) at = cur + window * (1 - (limit - c - need) / p);
  else if (c > 0) at = cur + window + window * (1 - (limit - need) / c);
  else at = cur + window;
  let r = Math.max(Math.ceil(at - now), 1);
  for (let i = 0; i < 8 && r > 1 && fits(now + r - 1); i++) r--;
  for (let i = 0; i < 8 && !fits(now + r); i++) r++;
  return result(false, limit, remaining, Math.max(reset, now + r), r);
};

// a = the time the bucket is full again (GCRA's theoretical arrival time), an integer in
// 1/4096 ms as in Redis. The same computation as the BUCKET script (token-bucket and gcra),
// expression for expression (see its comment).
const bucket: Decide = (entry, limit, window, cost, now, out) => {
  let d = 0;
  if (entry !== undefined) {
    d = entry.a / 4096 - now;
    if (d < 0) d = 0;
  }
  const room = limit - (d * limit) / window + EPS;
  if (cost > 0 && room >= cost) {
    const s = now * 4096 + Math.floor((d + (cost * window) / limit) * 4096);
    out.a = s;
    d = s / 4096 - now;
    const reset = now + Math.ceil(d);
    out.exp = reset;
    const left = Math.max(Math.floor(limit - (d * limit) / window + EPS), 0);
    return result(true, limit, left, reset, 0);
  }
  const remaining = Math.max(Math.floor(room), 0);
  const reset = now + Math.ceil(d);
  const need = cost === 0 ? 1 : cost;
  if (room >= need) return result(true, limit, remaining, reset, 0);
  const fits = (k: number): boolean => {
    const dk = Math.max(d - k, 0);
    return limit - (dk * limit) / window + EPS >= need;
  };
  let r = Math.max(Math.ceil(d - ((limit - need) * window) / limit), 1);
  for (let i = 0; i < 8 && r > 1 && fits(r - 1); i++) r--;
  for (let i = 0; i < 8 && !fits(r); i++) r++;
  return result(false, limit, remaining, Math.max(reset, now + r), r);
};

const DECIDE: Record<RateLimitAlgorithm, Decide> = {
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
  'token-bucket': bucket,
  gcra: bucket,
};

/** Options of {@link LocalLimiter}. */
export interface LocalLimiterOptions {
  algorithm: RateLimitAlgorithm;
  limit: number;
  windowMs: number;
  /** Keys kept at most; the least recently used key is evicted first. */
  maxKeys: number;
  /** Clock in epoch ms (injectable for tests). */
  now?: () => number;
}

/**
 * The in-process limiter behind `fallback: 'local'`: the same algorithms as the Lua scripts, over
 * a bounded Map kept in least-recently-used order, with a sweep of expired keys.
 */
export class LocalLimiter {
  readonly limit: number;
  readonly #window: number;
  readonly #maxKeys: number;
  readonly #decide: Decide;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #scratch: Entry = { a: 0, b: 0, c: 0, exp: -1 };
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: LocalLimiterOptions) {
    this.limit = options.limit;
    this.#window = options.windowMs;
    this.#maxKeys = options.maxKeys;
    this.#decide = DECIDE[options.algorithm];
    this.#now = options.now ?? Date.now;
  }

  /** Number of keys currently tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /** Decides for `key`; `cost` 0 reports without charging. */
  decide(key: string, cost: number): RateLimitResult {
    const now = this.#now();
    const entries = this.#entries;
    let entry = entries.get(key);
    if (entry !== undefined && entry.exp <= now) {
      entries.delete(key);
      entry = undefined;
    }
    const out = this.#scratch;
    out.exp = -1;
    const res = this.#decide(entry, this.limit, this.#window, cost, now, out);
    if (out.exp !== -1) {
      if (entry === undefined) {
        // The scratch object becomes the stored entry; a fresh scratch serves the next call.
        this.#scratch = { a: 0, b: 0, c: 0, exp: -1 };
        if (entries.size >= this.#maxKeys) this.#evict();
        entries.set(key, out);
        this.#startSweeper();
        return res;
      }
      entry.a = out.a;
      entry.b = out.b;
      entry.c = out.c;
      entry.exp = out.exp;
    }
    if (entry !== undefined) {
      // Move to the most-recently-used end (also on a rejection: a key under attack stays).
      entries.delete(key);
      entries.set(key, entry);
    }
    return res;
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every key whose state has expired. */
  sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.exp <= now) this.#entries.delete(key);
    }
    if (this.#entries.size === 0) this.#stopSweeper();
  }

  /** Drops every key and stops the sweep timer. */
  clear(): void {
    this.#entries.clear();
    this.#stopSweeper();
  }

  #evict(): void {
    // Expired keys go first; otherwise the least recently used one.
    const before = this.#entries.size;
    if (before > 1024) {
      const first = this.#entries.keys().next();
      if (!first.done) this.#entries.delete(first.value);
      return;
    }
    this.sweep();
    if (this.#entries.size === before) {
      const first = this.#entries.keys().next();
      if (!first.done) this.#entries.delete(first.value);
    }
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    const every = Math.min(Math.max(this.#window, 1000), 60_000);
    this.#sweeper = setInterval(() => this.sweep(), every);
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    if (this.#sweeper === undefined) return;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
