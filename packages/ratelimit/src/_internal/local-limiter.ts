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

// a = window start, b = current count, c = previous count.
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
  const est = (p * (window - (now - cur))) / window + c;
  const reset = cur + window;
  if (cost > 0 && est + cost <= limit + EPS) {
    out.a = cur;
    out.b = c + cost;
    out.c = p;
    out.exp = cur + 2 * window;
    return result(true, limit, Math.max(Math.floor(limit - est - cost + EPS), 0), reset, 0);
  }
  const need = cost === 0 ? 1 : cost;
  const remaining = Math.max(Math.floor(limit - est + EPS), 0);
  if (est + need <= limit + EPS) return result(cost === 0, limit, remaining, reset, 0);
  let at: number;
  if (c + need <= limit && p > 0) at = cur + window * (1 - (limit - c - need) / p);
  else if (c > 0) at = cur + window + Math.max(window * (1 - (limit - need) / c), 0);
  else at = cur + window;
  return result(false, limit, remaining, reset, Math.max(Math.ceil(at - now), 1));
};

// a = tokens, b = last refill time.
const tokenBucket: Decide = (entry, limit, window, cost, now, out) => {
  let tokens = limit;
  if (entry !== undefined) {
    tokens = Math.min(limit, entry.a + (Math.max(now - entry.b, 0) * limit) / window);
  }
  if (cost > 0 && tokens + EPS >= cost) {
    tokens = Math.max(tokens - cost, 0);
    const full = Math.ceil(((limit - tokens) * window) / limit);
    out.a = tokens;
    out.b = now;
    out.exp = now + Math.max(full, 1);
    return result(true, limit, Math.floor(tokens + EPS), now + full, 0);
  }
  const full = Math.ceil(((limit - tokens) * window) / limit);
  const need = cost === 0 ? 1 : cost;
  const remaining = Math.floor(tokens + EPS);
  if (tokens + EPS >= need) return result(cost === 0, limit, remaining, now + full, 0);
  const retry = Math.max(Math.ceil(((need - tokens) * window) / limit), 1);
  return result(false, limit, remaining, now + full, retry);
};

// a = theoretical arrival time.
const gcra: Decide = (entry, limit, window, cost, now, out) => {
  const interval = window / limit;
  let tat = entry !== undefined ? entry.a : now;
  if (tat < now) tat = now;
  const need = cost === 0 ? 1 : cost;
  const allowAt = tat + need * interval - window;
  if (cost > 0 && allowAt <= now + 1e-6) {
    tat += cost * interval;
    out.a = tat;
    out.exp = Math.ceil(tat);
    const remaining = Math.max(Math.floor((window - (tat - now)) / interval + 1e-6), 0);
    return result(true, limit, remaining, Math.ceil(tat), 0);
  }
  const remaining = Math.max(Math.floor((window - (tat - now)) / interval + 1e-6), 0);
  if (allowAt <= now + 1e-6) return result(cost === 0, limit, remaining, Math.ceil(tat), 0);
  return result(false, limit, remaining, Math.ceil(tat), Math.max(Math.ceil(allowAt - now), 1));
};

const DECIDE: Record<RateLimitAlgorithm, Decide> = {
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
  'token-bucket': tokenBucket,
  gcra,
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
