import { randomUUID } from 'node:crypto';
import { announceInstance, type Connection, createConnection } from '@x/connection';
import type { LockBackend } from './backend.js';
import type { LockLostReason } from './channels.js';
import {
  isLockAcquisitionError,
  isLockUnavailableError,
  LockAcquisitionError,
  LockLostError,
  LockOptionsError,
  LockUnavailableError,
} from './errors.js';
import { Extender } from './extender.js';
import { HeldLock, type Lock, type LockOwner } from './lock.js';
import { ReleaseNotifications } from './notifications.js';
import {
  type AcquireOptions,
  integer,
  LOCK_DEFAULTS,
  type LockManagerOptions,
  type Retry,
  resolveLockOptions,
  resolveRetry,
  type TryAcquireOptions,
  type WithLockOptions,
} from './options.js';
import { QuorumServers } from './quorum.js';
import { joinRegistry, leaveRegistry, type Registry, scopeOf } from './registry.js';
import { LockServer } from './server.js';
import { SingleServer } from './single.js';
import { LockCounters, type LockStats } from './stats.js';
import type { WaiterOwner } from './waiters.js';

/** Creates, waits for and runs code under distributed locks; see {@link createLockManager}. */
export interface LockManager {
  /** Servers in use (1 unless in quorum mode). */
  readonly servers: number;
  /** Grants needed to hold a lock: a majority of `servers`. */
  readonly quorum: number;
  /**
   * Acquires `key`, waiting (per `retry`) while someone else holds it. Rejects with
   * {@link LockAcquisitionError} when still held after every attempt, {@link LockUnavailableError}
   * when Redis (a majority in quorum mode) cannot be used, or `signal.reason` when aborted.
   */
  acquire(key: string, options?: AcquireOptions): Promise<Lock>;
  /** One try: the lock, or `undefined` when someone else holds it. Redis unusable: {@link LockUnavailableError}. */
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
  /** The Redis block and the lock counters (see {@link LockStats}). */
  stats(): LockStats;
  /**
   * Rejects pending waits with {@link LockUnavailableError}, stops background extensions and the
   * release announcements, closes the connections (only the clients it created; at most about
   * `timeoutMs`, 1 s at most, also on a frozen server). Idempotent. Held locks are not released:
   * they expire by their TTL.
   */
  close(): Promise<void>;
}

const PKG = '@x/lock';

class RedisLockManager implements LockManager, LockOwner, WaiterOwner {
  readonly servers: number;
  readonly quorum: number;
  readonly #backend: LockBackend;
  readonly #registry: Registry;
  readonly #notifications: ReleaseNotifications | undefined;
  readonly #keyPrefix: string;
  readonly #ttlMs: number;
  readonly #retry: Retry;
  readonly #drift: number;
  readonly #extenders = new Set<Extender>();
  #closing: Promise<void> | undefined;
  readonly #counters = new LockCounters();

  constructor(options: LockManagerOptions) {
    const o = resolveLockOptions(options);
    this.#keyPrefix = o.keyPrefix;
    this.#ttlMs = o.ttlMs;
    this.#retry = o.retry;
    this.#drift = o.driftFactor;
    const quorum = o.sources.length > 1;
    const connections: Connection[] = [];
    try {
      for (const [i, redis] of o.sources.entries()) {
        connections.push(
          createConnection({
            redis,
            ioredis: o.ioredis,
            timeoutMs: o.timeoutMs,
            breaker: o.breaker,
            logger: o.logger,
            name: quorum ? `${PKG}[${i}]` : PKG,
            // In quorum mode the invalid server is named by its place: `redis[i]`.
            optionError: (field, value, expected) =>
              new LockOptionsError(
                field === 'redis' && quorum ? `redis[${i}]` : field,
                value,
                expected,
              ),
          }),
        );
      }
    } catch (error) {
      // One source was invalid: the connections made so far are not kept.
      for (const connection of connections) void connection.close();
      throw error;
    }
    const servers = connections.map((c) => new LockServer(c, o.notify));
    this.#backend = quorum ? new QuorumServers(servers) : new SingleServer(servers[0]!);
    this.servers = this.#backend.servers;
    this.quorum = this.#backend.quorum;
    this.#registry = joinRegistry(scopeOf(connections, o.keyPrefix));
    this.#notifications = o.notify
      ? new ReleaseNotifications(connections[0]!, (slot) => this.#announced(slot))
      : undefined;
    announceInstance(PKG, 'open', this);
  }

  validateTtl(ttlMs: unknown): number {
    return integer('ttlMs', ttlMs, 1);
  }

  acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    try {
      this.#checkKey(key);
      const ttl = options?.ttlMs === undefined ? this.#ttlMs : this.validateTtl(options.ttlMs);
      const retry = resolveRetry('retry', options?.retry, this.#retry);
      const signal = options?.signal;
      signal?.throwIfAborted();
      return this.#acquire(key, ttl, retry, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async tryAcquire(key: string, options?: TryAcquireOptions): Promise<Lock | undefined> {
    this.#checkKey(key);
    const ttl = options?.ttlMs === undefined ? this.#ttlMs : this.validateTtl(options.ttlMs);
    options?.signal?.throwIfAborted();
    const began = this.#counters.began();
    const token = randomUUID();
    const lockKey = this.#lockKey(key);
    const started = performance.now();
    const deadline = started + this.#validity(ttl);
    let reply: number;
    try {
      reply = (await this.#backend.acquire(lockKey, token, ttl, deadline)) as number;
    } catch (error) {
      this.#counters.unavailable++;
      this.#counters.settled(began, 1, 'unavailable');
      throw this.#backend.unavailable('acquire', error);
    }
    const lock = reply > 0 ? this.#granted(key, lockKey, token, reply, ttl, deadline) : undefined;
    if (lock === undefined) this.#counters.contended++;
    this.#counters.settled(began, 1, lock === undefined ? 'contended' : 'acquired');
    return lock;
  }

  async withLock<T>(
    key: string,
    fn: (lock: Lock) => T | Promise<T>,
    options?: WithLockOptions,
  ): Promise<T> {
    if (typeof fn !== 'function') throw new LockOptionsError('fn', fn, 'a function');
    const maxHoldMs = integer('maxHoldMs', options?.maxHoldMs ?? LOCK_DEFAULTS.maxHoldMs, 1);
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
      await lock.release().catch(noop);
    }
  }

  stats(): LockStats {
    return this.#counters.snapshot(this.#backend.stats());
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    for (const extender of [...this.#extenders]) extender.stop();
    this.#closing = Promise.all(this.#backend.connections.map((c) => c.close())).then(noop);
    this.#registry.waiters.dropAll(this, closedError());
    this.#notifications?.close();
    leaveRegistry(this.#registry);
    announceInstance(PKG, 'close', this);
    return this.#closing;
  }

  // ---- LockOwner (what a held lock asks of its manager) -----------------------------------

  releaseLock(lock: HeldLock): Promise<boolean> {
    return this.#backend.release(this.#lockKey(lock.key), lock.token);
  }

  extendLock(lock: HeldLock, ttlMs: number): Promise<number | false> {
    const deadline = performance.now() + this.#validity(ttlMs);
    return this.#backend.extend(this.#lockKey(lock.key), lock.token, ttlMs).then((extended) => {
      if (!extended) return false;
      this.#counters.extended++;
      return deadline;
    });
  }

  lockEnded(lock: HeldLock, lost: LockLostReason | undefined): void {
    this.#counters.ended(lost);
    this.#registry.ended(lock);
  }

  // ---- WaiterOwner (notify mode listens to the keys its waiters wait for) ------------------

  waiting(slot: string): void {
    this.#notifications?.listen(this.#lockKey(slot), slot);
  }

  left(slot: string): void {
    const notifications = this.#notifications;
    if (notifications !== undefined && !this.#registry.waiters.has(this, slot)) {
      notifications.unlisten(this.#lockKey(slot));
    }
  }

  // ---- internals ------------------------------------------------------------------------

  async #acquire(
    key: string,
    ttl: number,
    retry: Retry,
    signal: AbortSignal | undefined,
  ): Promise<Lock> {
    const registry = this.#registry;
    const began = this.#counters.began();
    const token = randomUUID();
    const lockKey = this.#lockKey(key);
    // Releases of this key in this process are counted while someone here waits for it, so a
    // release that lands while a try is in flight is not missed (the try is repeated at once).
    const contention = registry.enter(key);
    // Queue behind local holders and other local acquirers first (FIFO hand-over in this process).
    let skip = retry.attempts > 0 && (contention.acquirers > 1 || registry.holds(key));
    let tries = 0;
    let timed = 0;
    let woken = false;
    let busyMs = 0;
    let waiting = false;
    try {
      for (;;) {
        if (!skip) {
          const seen = contention.releases;
          const started = performance.now();
          const deadline = started + this.#validity(ttl);
          tries++;
          let reply: number;
          contention.trying++;
          try {
            reply = (await this.#backend.acquire(lockKey, token, ttl, deadline)) as number;
          } catch (error) {
            throw this.#backend.unavailable('acquire', error);
          } finally {
            contention.trying--;
          }
          if (reply > 0) {
            const lock = this.#granted(key, lockKey, token, reply, ttl, deadline);
            if (lock !== undefined) {
              if (signal?.aborted) {
                void lock.release().catch(noop);
                throw signal.reason;
              }
              this.#counters.settled(began, tries, 'acquired');
              return lock;
            }
            busyMs = 0;
          } else {
            busyMs = reply === 0 ? -1 : -1 - reply;
          }
          if (contention.releases !== seen && !registry.holds(key)) {
            signal?.throwIfAborted();
            continue;
          }
        }
        if (!waiting) {
          waiting = true;
          this.#counters.waiting++;
          this.#counters.contended++;
        }
        if (timed >= retry.attempts) throw new LockAcquisitionError(key, timed + 1);
        let delay = retry.delayMs + (retry.jitter > 0 ? Math.random() * retry.jitter : 0);
        // Never sleep past the moment the holder's TTL runs out.
        if (skip) busyMs = registry.heldFor(key);
        if (busyMs >= 0 && busyMs + 1 < delay) delay = busyMs + 1;
        const waited = await registry.waiters.wait(
          this,
          key,
          Math.ceil(delay),
          signal,
          woken,
          retry,
          retry.attempts - timed,
        );
        woken = waited < 0;
        if (!woken) timed += waited;
        // A timed wake while this process still holds the key needs no round trip.
        skip = !woken && registry.holds(key);
      }
    } catch (error) {
      if (isLockAcquisitionError(error)) {
        this.#counters.timedOut++;
        this.#counters.settled(began, tries, 'contended');
      } else if (isLockUnavailableError(error)) {
        this.#counters.unavailable++;
        this.#counters.settled(began, tries, 'unavailable');
      } else this.#counters.aborted++;
      throw error;
    } finally {
      registry.leave(key, contention);
      if (waiting) this.#counters.waiting--;
    }
  }

  /** A grant of `key` with `fence`: the lock, or `undefined` when it came too late to use. */
  #granted(
    key: string,
    lockKey: string,
    token: string,
    fence: number,
    ttl: number,
    deadline: number,
  ): HeldLock | undefined {
    if (performance.now() >= deadline) {
      // Granted too late to be of use: give it back rather than leave it until its TTL.
      this.#backend.releaseQuietly(lockKey, token);
      return undefined;
    }
    const lock = new HeldLock(this, key, token, fence, ttl, deadline);
    this.#registry.held.set(key, lock);
    this.#counters.held++;
    this.#counters.acquired++;
    return lock;
  }

  /** A release announced over pub/sub (notify mode): a local waiter tries at once. */
  #announced(slot: string): void {
    // A release by this process already woke a waiter directly.
    if (!this.#registry.holds(slot)) this.#registry.waiters.wakeOne(slot);
  }

  /** How long a lock of `ttl` ms is safely held, counted from before the request. */
  #validity(ttl: number): number {
    return ttl - (ttl * this.#drift + 2);
  }

  #checkKey(key: unknown): void {
    if (typeof key !== 'string' || key.length === 0) {
      throw new LockOptionsError('key', key, 'a non-empty string');
    }
    if (this.#closing !== undefined) throw closedError();
  }

  #lockKey(key: string): string {
    return `${this.#keyPrefix}{${key}}`;
  }
}

function closedError(): LockUnavailableError {
  return new LockUnavailableError(
    'acquire',
    new Error('the lock manager was closed: create a new one'),
  );
}

function noop(): void {}

/**
 * Creates a lock manager over one Redis server, or over several independent ones (quorum mode,
 * Redlock), each through a managed connection of `@x/connection` (deadline, breaker, readiness,
 * diagnosis). Locks are `SET NX PX` with a random token; release and extend are compare-and-delete
 * / compare-and-pexpire scripts; every lock carries a fencing token that increases per key.
 *
 * Waiting: a busy lock is retried after a short jittered delay (never later than the holder's
 * remaining TTL), and a waiter in this process is woken at once, in arrival order, when a lock of
 * this process on the key ends. Redis unusable: {@link LockUnavailableError} (with the
 * connection's diagnosis); never falls back to memory.
 *
 * @throws LockOptionsError naming an invalid option; ConfigError of `@x/config` for an invalid
 * URL or config.
 * @example
 * const locks = createLockManager({ redis: 'redis://127.0.0.1:6379' });
 * await locks.withLock('report', async (lock) => buildReport({ signal: lock.signal }), { ttlMs: 5000 });
 */
export function createLockManager(options: LockManagerOptions): LockManager {
  return new RedisLockManager(options);
}
