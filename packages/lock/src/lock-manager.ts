import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Breaker, BreakerOptions, Guard, RedisClient, RedisSource } from './_internal/deps.js';
import {
  createGuard,
  isCluster,
  isNoScriptError,
  resolveRedis,
  whenReady,
} from './_internal/deps.js';
import { LuaScript } from './_internal/redis.js';
import { ACQUIRE, EXTEND, RAISE_FENCE, RELEASE, RELEASE_NOTIFY } from './_internal/scripts.js';
import {
  LockAcquisitionError,
  LockLostError,
  LockOptionsError,
  LockUnavailableError,
} from './errors.js';
import { HeldLock, type Lock, type LockOwner } from './lock.js';

/** How `acquire` waits for a lock held by someone else. */
export interface LockRetryOptions {
  /**
   * Timed retries after the first try; `0` tries once. A wake-up because this manager released
   * the key does not use up an attempt, so `acquire` waits at most about
   * `attempts * (delayMs + jitter)` ms.
   * @default 10
   */
  attempts?: number;
  /**
   * Milliseconds between timed retries (never longer than the holder's remaining TTL).
   * @default 50
   */
  delayMs?: number;
  /**
   * Up to this many milliseconds, chosen at random, are added to each delay so that waiting
   * processes do not retry in lockstep.
   * @default 50
   */
  jitter?: number;
}

/** Options of `acquire`. */
export interface AcquireOptions {
  /**
   * Lock time to live in milliseconds: the lock expires by itself if not released or extended.
   * @default the manager's ttlMs
   */
  ttlMs?: number;
  /** Waiting policy. @default the manager's retry */
  retry?: LockRetryOptions;
  /** Aborts the wait; `acquire` then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of `tryAcquire` (one try, no waiting). */
export interface TryAcquireOptions {
  /** Lock time to live in milliseconds. @default the manager's ttlMs */
  ttlMs?: number;
  /** Rejects with `signal.reason` when already aborted. */
  signal?: AbortSignal;
}

/** Options of `withLock`. */
export interface WithLockOptions extends AcquireOptions {
  /**
   * Cap on the total time the lock is held, in milliseconds: past it the lock is no longer
   * extended, its `signal` aborts with a `LockLostError` and `withLock` rejects with it.
   * @default 60000
   */
  maxHoldMs?: number;
}

/** Options of {@link createLockManager}. */
export interface LockManagerOptions {
  /**
   * Redis: a URL, a config from `@x/config`, or an existing ioredis client (never closed by the
   * manager). An array of several independent servers enables quorum mode (Redlock): a lock is
   * held when a majority of them granted it, within its validity time.
   */
  redis: RedisSource | readonly RedisSource[];
  /**
   * Prefix of every Redis key. A lock `k` uses `<prefix>{k}` and `<prefix>{k}:fence` (one hash
   * slot on Cluster). The fence key has no TTL: it keeps fencing tokens increasing.
   * @default 'x:lock:'
   */
  prefix?: string;
  /**
   * Default lock TTL in milliseconds.
   * @default 10000
   */
  ttlMs?: number;
  /** Default waiting policy of `acquire` and `withLock`. @default { attempts: 10, delayMs: 50, jitter: 50 } */
  retry?: LockRetryOptions;
  /**
   * Hard deadline of each call to each server, in milliseconds (a frozen server counts as down).
   * @default 500
   */
  timeoutMs?: number;
  /**
   * Circuit breaker per server: options for `createBreaker` from `@x/breaker`, an existing breaker
   * (single server only), or `false` for a deadline only.
   * @default { maxFailures: 5, resetTimeout: 5000 }
   */
  breaker?: BreakerOptions | Breaker | false;
  /**
   * Clock drift allowance as a fraction of the TTL (plus 2 ms), subtracted from a lock's validity.
   * @default 0.01
   */
  driftFactor?: number;
  /**
   * Announce releases with Redis pub/sub, so waiters in other processes are woken at once instead
   * of at their next retry. Costs a PUBLISH per release and, while this manager has waiters, one
   * subscriber connection (a duplicate of the first server's client). Inside one process waiters
   * are always woken directly, with or without this option.
   * @default false
   */
  notify?: boolean;
}

/** Creates, waits for and runs code under distributed locks; see {@link createLockManager}. */
export interface LockManager {
  /** Servers in use (1 unless in quorum mode). */
  readonly servers: number;
  /** Grants needed to hold a lock: a majority of `servers`. */
  readonly quorum: number;
  /**
   * Acquires `key`, waiting (per `retry`) while someone else holds it. Rejects with
   * {@link LockAcquisitionError} when still held after every attempt, {@link LockUnavailableError}
   * when Redis (a majority in quorum mode) cannot be reached, or `signal.reason` when aborted.
   */
  acquire(key: string, options?: AcquireOptions): Promise<Lock>;
  /** One try: the lock, or `undefined` when someone else holds it. Redis down: {@link LockUnavailableError}. */
  tryAcquire(key: string, options?: TryAcquireOptions): Promise<Lock | undefined>;
  /**
   * Acquires `key`, runs `fn(lock)` while extending the lock in the background (when half of its
   * TTL is left, timed on a monotonic clock), then releases it. Rejects with {@link LockLostError}
   * if the lock was lost before `fn` settled (watch `lock.signal` to stop early), with `fn`'s error
   * if it threw, or as `acquire` does. A failing background extension is never an unhandled rejection.
   */
  withLock<T>(
    key: string,
    fn: (lock: Lock) => T | Promise<T>,
    options?: WithLockOptions,
  ): Promise<T>;
  /** Rejects pending waits, stops extensions, closes connections the manager created. Idempotent. */
  close(): Promise<void>;
}

interface Server {
  client: RedisClient;
  owned: boolean;
  guard: Guard;
  /** Batches the writes of one tick into one system call (a client the manager created only). */
  batch: boolean;
  /** The socket corked until the end of this tick, if any. */
  corked: Writable | undefined;
}

/**
 * Corks the socket of `server` until the end of the current tick, so that the commands written in
 * it (50 concurrent acquires resuming from one read, say) leave in one `writev` instead of one
 * `write` system call each, which dominates the client's CPU time per command on a busy client.
 * Only on clients the manager created: it delays nothing by more than the current tick.
 */
function batchWrites(server: Server): void {
  if (server.corked !== undefined) return;
  const stream = (server.client as { stream?: Writable }).stream;
  if (stream === undefined || typeof stream.cork !== 'function') return;
  stream.cork();
  server.corked = stream;
  process.nextTick(uncork, server);
}

function uncork(server: Server): void {
  const stream = server.corked;
  server.corked = undefined;
  stream?.uncork();
}

interface Waiter {
  owner: object;
  /** -1: woken by a release; otherwise the timed retries used up. */
  resolve: (waited: number) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Result of one try that did not get the lock: how long the holder still has, in ms (-1: unknown). */
type Busy = number;

/** Local state of one scope (servers + prefix), keyed by lock key. */
interface Registry {
  /** Managers using it; dropped with the last one. */
  managers: number;
  held: Map<string, HeldLock>;
  waiters: Map<string, Waiter[]>;
  contention: Map<string, { acquirers: number; releases: number }>;
}

// Process-wide, so that every manager of this process on the same servers and prefix hands a
// released lock straight to the next local waiter. Within a scope, a slot is the lock key.
const REGISTRIES = new Map<string, Registry>();
const clientIds = new WeakMap<object, number>();
let nextClientId = 0;

/** Names the server behind a client: host:port/db for a plain client, else the client itself. */
function serverId(client: RedisClient): string {
  const o = (
    client as {
      options?: { host?: string; port?: number; db?: number; path?: string; sentinels?: unknown };
    }
  ).options;
  if (!isCluster(client) && o !== undefined && !o.sentinels) {
    return `${o.path ?? `${o.host}:${o.port}`}/${o.db ?? 0}`;
  }
  let id = clientIds.get(client);
  if (id === undefined) {
    id = ++nextClientId;
    clientIds.set(client, id);
  }
  return `#${id}`;
}

const DEFAULT_BREAKER: BreakerOptions = { maxFailures: 5, resetTimeout: 5000 };
const acquireScript = new LuaScript(ACQUIRE);
const releaseScript = new LuaScript(RELEASE);
const releaseNotifyScript = new LuaScript(RELEASE_NOTIFY);
const extendScript = new LuaScript(EXTEND);
const raiseScript = new LuaScript(RAISE_FENCE);

function integer(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new LockOptionsError(field, value, `an integer >= ${min}`);
  }
  return value;
}

interface Retry {
  attempts: number;
  delayMs: number;
  jitter: number;
}

function retryOptions(field: string, value: unknown, base: Retry): Retry {
  if (value === undefined) return base;
  if (typeof value !== 'object' || value === null) {
    throw new LockOptionsError(field, value, 'an object { attempts, delayMs, jitter }');
  }
  const v = value as LockRetryOptions;
  return {
    attempts:
      v.attempts === undefined ? base.attempts : integer(`${field}.attempts`, v.attempts, 0),
    delayMs: v.delayMs === undefined ? base.delayMs : integer(`${field}.delayMs`, v.delayMs, 0),
    jitter: v.jitter === undefined ? base.jitter : integer(`${field}.jitter`, v.jitter, 0),
  };
}

/**
 * Calls one script on one server, under that server's guard. `send` skips the NOSCRIPT fallback
 * (no wrapper promise on the common path): the caller then retries with `run` when
 * {@link isNoScriptError} says the script cache was flushed.
 */
function call(
  mode: 'run' | 'send',
  server: Server,
  script: LuaScript,
  keys: number,
  args: (string | number)[],
): Promise<unknown> {
  return server.guard.execute(() => {
    const client = server.client;
    const ready = whenReady(client);
    if (ready === undefined) {
      if (server.batch) batchWrites(server);
      return mode === 'send' ? script.send(client, keys, args) : script.run(client, keys, ...args);
    }
    return runWhenReady(ready, server, script, keys, args);
  });
}

async function runWhenReady(
  ready: Promise<void>,
  server: Server,
  script: LuaScript,
  keys: number,
  args: (string | number)[],
): Promise<unknown> {
  const started = performance.now();
  await ready;
  // The deadline passed while connecting: the caller has given up, so a late acquire would
  // only leave an orphan lock behind.
  if (performance.now() - started >= server.guard.timeoutMs) {
    throw new Error('Connection is closed (ready after the deadline)');
  }
  return script.run(server.client, keys, ...args);
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

function settle(promise: Promise<unknown>): Promise<Settled> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

class RedisLockManager implements LockManager, LockOwner {
  readonly servers: number;
  readonly quorum: number;
  readonly #servers: Server[];
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #retry: Retry;
  readonly #drift: number;
  /** Per key: the lock this manager holds (if any). */
  readonly #held: Map<string, HeldLock>;
  /** Per key: local waiters in arrival order, woken one at a time when this manager lets go. */
  readonly #waiters: Map<string, Waiter[]>;
  /** Per key with acquirers waiting here: how many, and how many local releases so far. */
  readonly #contention: Map<string, { acquirers: number; releases: number }>;
  /** Identifies the servers and prefix: managers with the same scope share a registry. */
  readonly #scope: string;
  readonly #registry: Registry;
  /** The release script: with a PUBLISH in notify mode only. */
  readonly #release: LuaScript;
  readonly #extenders = new Set<Extender>();
  readonly #notify: '1' | '0';
  /** Channel (= lock key) -> slot, for the channels this manager listens to. */
  readonly #channels = new Map<string, string>();
  #subscriber: RedisClient | undefined;
  #closed = false;

  constructor(options: LockManagerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new LockOptionsError('options', options, 'an object');
    }
    const prefix = options.prefix ?? 'x:lock:';
    if (typeof prefix !== 'string' || prefix.includes('{')) {
      throw new LockOptionsError('prefix', prefix, 'a string without "{"');
    }
    this.#prefix = prefix;
    this.#ttlMs = integer('ttlMs', options.ttlMs ?? 10_000, 1);
    this.#retry = retryOptions('retry', options.retry, { attempts: 10, delayMs: 50, jitter: 50 });
    const timeoutMs = integer('timeoutMs', options.timeoutMs ?? 500, 1);
    const drift = options.driftFactor ?? 0.01;
    if (typeof drift !== 'number' || !(drift >= 0 && drift < 0.5)) {
      throw new LockOptionsError('driftFactor', drift, 'a number from 0 to 0.5');
    }
    this.#drift = drift;
    if (options.notify !== undefined && typeof options.notify !== 'boolean') {
      throw new LockOptionsError('notify', options.notify, 'a boolean');
    }
    this.#notify = options.notify === true ? '1' : '0';
    this.#release = options.notify === true ? releaseNotifyScript : releaseScript;
    const sources: readonly RedisSource[] = Array.isArray(options.redis)
      ? options.redis
      : [options.redis as RedisSource];
    if (sources.length === 0 || sources.some((s) => s === undefined || s === null)) {
      throw new LockOptionsError(
        'redis',
        options.redis,
        'a URL, a config, an ioredis client, or a non-empty array of them',
      );
    }
    const breaker = options.breaker === undefined ? DEFAULT_BREAKER : options.breaker;
    if (
      sources.length > 1 &&
      breaker !== false &&
      typeof (breaker as Breaker).execute === 'function'
    ) {
      throw new LockOptionsError(
        'breaker',
        'a Breaker instance',
        'breaker options or false in quorum mode (one breaker per server)',
      );
    }
    this.#servers = sources.map((source) => {
      const { client, owned } = resolveRedis(source);
      const batch = owned && !isCluster(client);
      return {
        client,
        owned,
        guard: createGuard({ timeoutMs, breaker }),
        batch,
        corked: undefined,
      };
    });
    this.servers = this.#servers.length;
    this.#scope = `${this.#servers.map((s) => serverId(s.client)).join(',')}|${prefix}`;
    let registry = REGISTRIES.get(this.#scope);
    if (registry === undefined) {
      registry = { managers: 0, held: new Map(), waiters: new Map(), contention: new Map() };
      REGISTRIES.set(this.#scope, registry);
    }
    registry.managers++;
    this.#registry = registry;
    this.#held = registry.held;
    this.#waiters = registry.waiters;
    this.#contention = registry.contention;
    this.quorum = Math.floor(this.servers / 2) + 1;
  }

  validateTtl(ttlMs: unknown): number {
    return integer('ttlMs', ttlMs, 1);
  }

  async acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    this.#checkKey(key);
    const ttl = options?.ttlMs === undefined ? this.#ttlMs : this.validateTtl(options.ttlMs);
    const retry = retryOptions('retry', options?.retry, this.#retry);
    const signal = options?.signal;
    signal?.throwIfAborted();
    const token = randomUUID();
    const lockKey = this.#lockKey(key);
    const args = [lockKey, `${lockKey}:fence`, token, ttl];
    const single = this.servers === 1 ? this.#servers[0]! : undefined;
    // Releases of this key by this manager are counted while someone here waits for it, so a
    // release that lands while a try is in flight is not missed (the try is repeated at once).
    const slot = key;
    let contention = this.#contention.get(slot);
    if (contention === undefined) {
      contention = { acquirers: 0, releases: 0 };
      this.#contention.set(slot, contention);
    }
    // Queue behind local holders and other local acquirers first (FIFO hand-over in this process).
    let skip = retry.attempts > 0 && (contention.acquirers > 0 || this.#holdsHere(slot));
    contention.acquirers++;
    try {
      let timed = 0;
      let woken = false;
      let busyMs = 0;
      for (;;) {
        if (!skip) {
          const seen = contention.releases;
          let result: HeldLock | Busy;
          if (single !== undefined) {
            // One server: the try inline, one round trip and no wrapper promise.
            const started = performance.now();
            let reply: unknown;
            try {
              try {
                reply = await call('send', single, acquireScript, 2, args);
              } catch (error) {
                if (!isNoScriptError(error)) throw error;
                reply = await call('run', single, acquireScript, 2, args);
              }
            } catch (error) {
              throw new LockUnavailableError('acquire', error);
            }
            result = this.#onReply(key, token, reply as number, ttl, started);
          } else {
            result = await this.#tryOnce(key, token, ttl);
          }
          if (typeof result !== 'number') {
            if (signal?.aborted) {
              void result.release().catch(() => false);
              throw signal.reason;
            }
            return result;
          }
          busyMs = result;
          if (contention.releases !== seen && !this.#holdsHere(slot)) {
            signal?.throwIfAborted();
            continue;
          }
        }
        if (timed >= retry.attempts) throw new LockAcquisitionError(key, timed + 1);
        let delay = retry.delayMs + (retry.jitter > 0 ? Math.random() * retry.jitter : 0);
        // Never sleep past the moment the holder's TTL runs out.
        if (skip) busyMs = this.#heldFor(slot);
        if (busyMs >= 0 && busyMs + 1 < delay) delay = busyMs + 1;
        const waited = await this.#wait(
          slot,
          Math.ceil(delay),
          signal,
          woken,
          retry,
          retry.attempts - timed,
        );
        woken = waited < 0;
        if (!woken) timed += waited;
        // A timed wake while this process still holds the key needs no round trip.
        skip = !woken && this.#holdsHere(slot);
      }
    } finally {
      if (--contention.acquirers === 0) this.#contention.delete(slot);
    }
  }

  async tryAcquire(key: string, options?: TryAcquireOptions): Promise<Lock | undefined> {
    this.#checkKey(key);
    const ttl = options?.ttlMs === undefined ? this.#ttlMs : this.validateTtl(options.ttlMs);
    options?.signal?.throwIfAborted();
    const result = await this.#tryOnce(key, randomUUID(), ttl);
    return typeof result === 'number' ? undefined : result;
  }

  async withLock<T>(
    key: string,
    fn: (lock: Lock) => T | Promise<T>,
    options?: WithLockOptions,
  ): Promise<T> {
    if (typeof fn !== 'function') throw new LockOptionsError('fn', fn, 'a function');
    const maxHoldMs = integer('maxHoldMs', options?.maxHoldMs ?? 60_000, 1);
    const lock = (await this.acquire(key, options)) as HeldLock;
    const extender = new Extender(lock, performance.now() + maxHoldMs, this.#extenders);
    try {
      const value = await fn(lock);
      if (!lock.held) {
        throw new LockLostError(key, 'lost before the callback settled', lock.signal.reason);
      }
      return value;
    } finally {
      extender.stop();
      await lock.release().catch(() => false);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const extender of this.#extenders) extender.stop();
    const closed = new LockUnavailableError('acquire', new Error('the lock manager was closed'));
    for (const [slot, queue] of this.#waiters) {
      for (const waiter of [...queue]) {
        if (waiter.owner !== this) continue;
        this.#removeWaiter(slot, waiter);
        this.#dropWaiter(waiter, closed);
      }
    }
    this.#channels.clear();
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    if (--this.#registry.managers === 0 && REGISTRIES.get(this.#scope) === this.#registry) {
      REGISTRIES.delete(this.#scope);
    }
    await Promise.all(this.#servers.map((s) => (s.owned ? closeClient(s.client) : undefined)));
  }

  // ---- LockOwner -------------------------------------------------------------------------

  async releaseLock(lock: HeldLock): Promise<boolean> {
    const lockKey = this.#lockKey(lock.key);
    if (this.servers === 1) {
      const server = this.#servers[0]!;
      const args = [lockKey, lock.token];
      let reply: unknown;
      try {
        try {
          reply = await call('send', server, this.#release, 1, args);
        } catch (error) {
          if (!isNoScriptError(error)) throw error;
          reply = await call('run', server, this.#release, 1, args);
        }
      } catch (error) {
        throw new LockUnavailableError('release', error);
      }
      return reply === 1;
    }
    const results = await this.#onAll(this.#release, 1, [lockKey, lock.token]);
    let released = 0;
    let failed = 0;
    let cause: unknown;
    for (const r of results) {
      if (r.ok) released += r.value === 1 ? 1 : 0;
      else {
        failed++;
        cause ??= r.error;
      }
    }
    if (released >= this.quorum) return true;
    // Unknown when the unreachable servers could have made up the majority.
    if (released + failed >= this.quorum && failed > 0) {
      throw new LockUnavailableError('release', cause);
    }
    return false;
  }

  async extendLock(lock: HeldLock, ttlMs: number): Promise<number | false> {
    const lockKey = this.#lockKey(lock.key);
    const started = performance.now();
    const validity = ttlMs - (ttlMs * this.#drift + 2);
    if (this.servers === 1) {
      let reply: unknown;
      try {
        reply = await call('run', this.#servers[0]!, extendScript, 1, [lockKey, lock.token, ttlMs]);
      } catch (error) {
        throw new LockUnavailableError('extend', error);
      }
      return reply === 1 ? started + validity : false;
    }
    const results = await this.#onAll(extendScript, 1, [lockKey, lock.token, ttlMs]);
    let extended = 0;
    let failed = 0;
    let cause: unknown;
    for (const r of results) {
      if (r.ok) extended += r.value === 1 ? 1 : 0;
      else {
        failed++;
        cause ??= r.error;
      }
    }
    if (extended >= this.quorum) return started + validity;
    if (extended + failed >= this.quorum) throw new LockUnavailableError('extend', cause);
    return false;
  }

  lockEnded(lock: HeldLock): void {
    const slot = lock.key;
    if (this.#held.get(slot) === lock) this.#held.delete(slot);
    const contention = this.#contention.get(slot);
    if (contention !== undefined) contention.releases++;
    this.#wakeOne(slot);
  }

  // ---- internals ------------------------------------------------------------------------

  #checkKey(key: unknown): void {
    if (typeof key !== 'string' || key.length === 0) {
      throw new LockOptionsError('key', key, 'a non-empty string');
    }
    if (this.#closed) {
      throw new LockUnavailableError('acquire', new Error('the lock manager was closed'));
    }
  }

  #lockKey(key: string): string {
    return `${this.#prefix}{${key}}`;
  }

  /** Milliseconds left to the lock held in this process on `slot`, or -1 when there is none. */
  #heldFor(slot: string): number {
    const lock = this.#held.get(slot);
    return lock === undefined ? -1 : Math.max(lock.deadline - performance.now(), 0);
  }

  #holdsHere(slot: string): boolean {
    const lock = this.#held.get(slot);
    return lock?.held === true;
  }

  /** One try on every server: the lock, or how long (ms) the current holder still has. */
  async #tryOnce(key: string, token: string, ttl: number): Promise<HeldLock | Busy> {
    const lockKey = this.#lockKey(key);
    const args = [lockKey, `${lockKey}:fence`, token, ttl];
    const started = performance.now();
    const validity = ttl - (ttl * this.#drift + 2);
    if (this.servers === 1) {
      let reply: unknown;
      try {
        reply = await call('run', this.#servers[0]!, acquireScript, 2, args);
      } catch (error) {
        throw new LockUnavailableError('acquire', error);
      }
      return this.#onReply(key, token, reply as number, ttl, started);
    }
    const results = await this.#onAll(acquireScript, 2, args);
    const granted: Server[] = [];
    let fence = 0;
    let failed = 0;
    let cause: unknown;
    let busy = -1;
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      if (!r.ok) {
        failed++;
        cause ??= r.error;
        continue;
      }
      const reply = r.value as number;
      if (reply > 0) {
        granted.push(this.#servers[i]!);
        if (reply > fence) fence = reply;
      } else {
        const left = busyFor(reply);
        if (left >= 0 && (busy < 0 || left < busy)) busy = left;
      }
    }
    if (granted.length >= this.quorum) {
      // Every later majority overlaps this one: raising the counters there makes the next token larger.
      const raised = await Promise.all(
        granted.map((s) => settle(call('run', s, raiseScript, 1, [`${lockKey}:fence`, fence]))),
      );
      const ok = raised.filter((r) => r.ok).length;
      if (ok >= this.quorum && performance.now() < started + validity) {
        return this.#granted(key, token, fence, ttl, started + validity);
      }
    }
    // Give back partial grants before anyone retries (failures only delay their expiry).
    if (granted.length > 0) await this.#releaseQuietly(granted, lockKey, token);
    if (this.servers - failed < this.quorum) throw new LockUnavailableError('acquire', cause);
    return Math.max(busy, 0);
  }

  /** Reads an acquire script's reply: a fencing token (> 0) is a grant, else see {@link busyFor}. */
  #onReply(
    key: string,
    token: string,
    reply: number,
    ttl: number,
    started: number,
  ): HeldLock | Busy {
    if (reply <= 0) return busyFor(reply);
    return this.#granted(key, token, reply, ttl, started + (ttl - (ttl * this.#drift + 2)));
  }

  #granted(
    key: string,
    token: string,
    fence: number,
    ttl: number,
    deadline: number,
  ): HeldLock | Busy {
    if (performance.now() >= deadline) {
      // Granted too late to be of use: give it back rather than leave it until its TTL.
      void this.#releaseQuietly(this.#servers, this.#lockKey(key), token);
      return 0;
    }
    const lock = new HeldLock(this, key, token, fence, ttl, deadline);
    this.#held.set(key, lock);
    return lock;
  }

  #onAll(script: LuaScript, keys: number, args: (string | number)[]): Promise<Settled[]> {
    return Promise.all(this.#servers.map((s) => settle(call('run', s, script, keys, args))));
  }

  async #releaseQuietly(servers: Server[], lockKey: string, token: string): Promise<void> {
    await Promise.all(
      servers.map((s) => settle(call('run', s, this.#release, 1, [lockKey, token]))),
    );
  }

  /**
   * Waits `ms`, or less when a lock of this process on `slot` ends. Resolves with -1 when woken
   * that way, else with the timed retries used up (at most `budget`). While the key is held in
   * this process a timed wake keeps the waiter in its place in the queue (a try would fail).
   */
  #wait(
    slot: string,
    ms: number,
    signal: AbortSignal | undefined,
    front: boolean,
    retry: Retry,
    budget: number,
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let queue = this.#waiters.get(slot);
      if (queue === undefined) {
        queue = [];
        this.#waiters.set(slot, queue);
      }
      let used = 0;
      const onTimer = (): void => {
        used++;
        const heldFor = this.#heldFor(slot);
        if (heldFor > 0 && used < budget) {
          let delay = retry.delayMs + (retry.jitter > 0 ? Math.random() * retry.jitter : 0);
          if (heldFor + 1 < delay) delay = heldFor + 1;
          waiter.timer = setTimeout(onTimer, Math.ceil(delay));
          return;
        }
        this.#removeWaiter(slot, waiter);
        if (waiter.onAbort !== undefined) signal!.removeEventListener('abort', waiter.onAbort);
        resolve(used);
      };
      const waiter: Waiter = {
        owner: this,
        resolve,
        reject,
        timer: setTimeout(onTimer, ms),
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.#removeWaiter(slot, waiter);
          this.#dropWaiter(waiter, signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      // A waiter that was woken and lost the race keeps its place at the head.
      if (front) queue.unshift(waiter);
      else queue.push(waiter);
      if (this.#notify === '1') this.#listen(slot);
    });
  }

  /** Subscribes to the release announcements of `slot` (notify mode). */
  #listen(slot: string): void {
    const channel = this.#lockKey(slot);
    if (this.#channels.has(channel) || this.#closed) return;
    this.#channels.set(channel, slot);
    let subscriber = this.#subscriber;
    if (subscriber === undefined) {
      const source = this.#servers[0]!.client;
      // Subscriptions are idempotent: queueing them until the connection is up is harmless.
      subscriber = isCluster(source)
        ? source.duplicate(undefined, { enableOfflineQueue: true })
        : source.duplicate({ enableOfflineQueue: true });
      subscriber.on('error', noop);
      subscriber.on('message', (ch: string) => {
        const target = this.#channels.get(ch);
        // A release by this process already woke a waiter directly.
        if (target !== undefined && !this.#holdsHere(target)) this.#wakeOne(target);
      });
      this.#subscriber = subscriber;
    }
    subscriber.subscribe(channel).catch(() => this.#channels.delete(channel));
  }

  /** Stops listening to `slot` once none of this manager's waiters waits for it. */
  #unlisten(slot: string): void {
    if (this.#notify !== '1') return;
    const queue = this.#waiters.get(slot);
    if (queue?.some((w) => w.owner === this)) return;
    const channel = this.#lockKey(slot);
    if (!this.#channels.delete(channel)) return;
    this.#subscriber?.unsubscribe(channel).catch(noop);
  }

  #wakeOne(slot: string): void {
    const queue = this.#waiters.get(slot);
    if (queue === undefined) return;
    const waiter = queue.shift();
    if (queue.length === 0) this.#waiters.delete(slot);
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(-1);
    (waiter.owner as RedisLockManager).#unlisten(slot);
  }

  #removeWaiter(slot: string, waiter: Waiter): void {
    const queue = this.#waiters.get(slot);
    if (queue === undefined) return;
    const index = queue.indexOf(waiter);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.#waiters.delete(slot);
    (waiter.owner as RedisLockManager).#unlisten(slot);
  }

  #dropWaiter(waiter: Waiter, error: unknown): void {
    clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    waiter.reject(error);
  }
}

/**
 * Keeps one lock of `withLock` alive: extends it when half of its TTL is left (timers on the
 * monotonic clock), retries a failed extension while the lock is still valid, and stops at
 * `maxHoldMs`. Never lets a rejection escape.
 */
class Extender {
  readonly #lock: HeldLock;
  readonly #holdUntil: number;
  readonly #registry: Set<Extender>;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastError: unknown;

  constructor(lock: HeldLock, holdUntil: number, registry: Set<Extender>) {
    this.#lock = lock;
    this.#holdUntil = holdUntil;
    this.#registry = registry;
    registry.add(this);
    this.#schedule(lock.ttlMs / 2);
  }

  stop(): void {
    this.#stopped = true;
    this.#registry.delete(this);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(leftWhenDue: number): void {
    if (this.#stopped) return;
    const now = performance.now();
    const deadline = this.#lock.deadline;
    const due = Math.min(Math.max(deadline - leftWhenDue, now), this.#holdUntil);
    this.#timer = setTimeout(() => this.#tick(), Math.ceil(due - now));
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    const lock = this.#lock;
    if (this.#stopped || lock.ended) return;
    const now = performance.now();
    if (now >= this.#holdUntil) {
      lock.lose('held longer than maxHoldMs');
      this.stop();
      return;
    }
    if (now >= lock.deadline) {
      lock.lose('expired: extension failed', this.#lastError);
      this.stop();
      return;
    }
    lock.extend().then(
      () => {
        this.#lastError = undefined;
        this.#schedule(lock.ttlMs / 2);
      },
      (error: unknown) => {
        // LockLostError: the lock already aborted its signal. Otherwise (Redis unreachable) try
        // again while the lock is still valid; the deadline check above ends it.
        if (lock.ended) {
          this.stop();
          return;
        }
        this.#lastError = error;
        const left = lock.deadline - performance.now();
        this.#schedule(Math.max(left / 2, 0));
      },
    );
  }
}

function noop(): void {}

/** The holder's remaining TTL in ms from a refused acquire's reply (`-1 - pttl`), -1 when unknown. */
function busyFor(reply: number): Busy {
  return reply === 0 ? -1 : -1 - reply;
}

async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  // QUIT waits for a reply a frozen server never sends: bound it, then drop the socket.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, 200);
    }),
  ]);
  clearTimeout(timer);
  client.disconnect();
}

/**
 * Creates a lock manager over one Redis server, or over several independent ones (quorum mode,
 * Redlock). Locks are SET NX PX with a random token; release and extend are compare-and-delete /
 * compare-and-pexpire scripts; every lock carries a fencing token that increases per key.
 *
 * Waiting: a busy lock is retried after a short jittered delay (never later than the holder's
 * remaining TTL), and a waiter of this manager is woken at once, in arrival order, when this
 * manager releases the key. Redis down: {@link LockUnavailableError}; never falls back to memory.
 *
 * @example
 * const locks = createLockManager({ redis: 'redis://127.0.0.1:6379' });
 * await locks.withLock('report', async (lock) => buildReport({ signal: lock.signal }), { ttlMs: 5000 });
 */
export function createLockManager(options: LockManagerOptions): LockManager {
  return new RedisLockManager(options);
}
