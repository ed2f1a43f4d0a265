import { GuardTimeoutError, isBreakerError, isInfrastructureError } from '@x/breaker';
import type { RedisClient } from '@x/config';
import {
  type Connection,
  diagnose,
  isXError,
  type Problem,
  RedisMisconfiguredError,
} from '@x/connection';
import { beforeDeadline, CallDeadline, EXPIRED } from './_internal/deadline.js';
import { MemoryBackend } from './_internal/memory-backend.js';
import { Reconciler } from './_internal/reconciler.js';
import { failClosedChannel } from './channels.js';
import { isSessionError, SessionUnavailableError } from './errors.js';

/** What a {@link StoreCalls} is made of. */
export interface StoreCallsOptions {
  readonly connection: Connection;
  /** Deadline of one store call, ms. */
  readonly timeoutMs: number;
  /** `'memory'`: a memory fallback (and its reconciler) serves calls Redis cannot. */
  readonly fallback: 'none' | 'memory';
  /** Bound of the memory fallback and of the changes waiting for Redis. */
  readonly maxEntries: number;
  readonly keyPrefix: string;
}

const LINK_DOWN = {
  code: 'ECONNRESET',
  message: 'the connection to Redis is down (lost, or being made again)',
};

// A call that spent less than this of its deadline before reaching Redis is bounded by the guard's
// own deadline (no timer of ours); past it, by what is left.
const FRESH_MS = 1;

/**
 * How every call of a session store (and of the express store on it) reaches Redis: through the
 * connection of `@x/connection` (its deadline and breaker, a first connection awaited inside the
 * deadline, never a command sent after it, traced on `x:connection:call` with the store operation
 * as `operation`), all the Redis round trips of one store call under **one** deadline taken when
 * the call starts ({@link StoreCalls.deadline}). When Redis cannot serve it: the memory fallback
 * (`fallback: 'memory'`), else a `SessionUnavailableError` carrying the connection's diagnosis
 * (fail closed), counted and published on `x:session:fail-closed`.
 *
 * With the memory fallback, a call about keys whose changes made in memory during an outage are
 * not in Redis yet first replays them (the reconciler's `settle`), within the same deadline. If
 * they cannot be replayed in time, memory still holds the truth about those keys and answers; once
 * they are replayed (all of them, or some: a copy that landed is dropped from memory), memory no
 * longer knows them, so the call is answered by Redis or fails closed. Likewise once Redis
 * answered a part of a call (the owner of a session, a user's list), the rest is not asked of
 * memory. A call that would rewrite a record in memory while a copy of that record may be on its
 * way to Redis fails closed too (the copy never overwrites, so the rewrite would be lost).
 */
export class StoreCalls {
  /** Calls that failed with `SessionUnavailableError`. */
  failedClosed = 0;
  /** Calls answered by the memory fallback. */
  servedFromMemory = 0;
  readonly connection: Connection;
  readonly timeoutMs: number;
  /** The memory fallback's journal and replay, with `fallback: 'memory'`. */
  readonly reconciler: Reconciler | undefined;
  readonly #memory: MemoryBackend | undefined;
  #closed = false;

  constructor(options: StoreCallsOptions) {
    this.connection = options.connection;
    this.timeoutMs = options.timeoutMs;
    if (options.fallback === 'memory') {
      const memory = new MemoryBackend(options.maxEntries);
      const reconciler = new Reconciler({
        memory,
        capacity: options.maxEntries,
        prefix: options.keyPrefix,
        run: (script, keys, args) => this.#replay(script, keys, args),
        usable: () => !this.#closed && this.connection.state === 'ready',
      });
      memory.journal = reconciler;
      this.#memory = memory;
      this.reconciler = reconciler;
      this.connection.on('usable', this.#onUsable);
    }
  }

  /** The deadline of a store call starting now, for all of its round trips. */
  deadline(): CallDeadline {
    return new CallDeadline(this.timeoutMs);
  }

  /**
   * Runs one of the store's scripts (a source of `_internal/scripts.ts`) on Redis, or on the memory
   * fallback. `settle`: keys whose pending changes are replayed first (default: `keys`);
   * `rewrites`: the key of an existing record the call rewrites (see the class comment).
   */
  script(
    operation: string,
    deadline: CallDeadline,
    source: string,
    keys: readonly string[],
    args: readonly (string | number)[],
    settle: readonly string[] = keys,
    rewrites?: string,
  ): Promise<unknown> {
    return this.command(
      operation,
      deadline,
      () => this.connection.script(source).run(keys.length, ...keys, ...args),
      (memory) => memory.run(source, keys, args),
      settle,
      rewrites,
    );
  }

  /**
   * Runs `redis(client)` through the connection before the deadline, or `memory(fallback)` when
   * Redis cannot serve it and the store has the memory fallback (unless Redis answered an earlier
   * part of the same call); else rejects with `SessionUnavailableError`. Command errors (a reply
   * such as `WRONGTYPE`) are rethrown as they are. `settle` and `rewrites`: see
   * {@link StoreCalls.script}.
   */
  async command<R>(
    operation: string,
    deadline: CallDeadline,
    redis: (client: RedisClient) => R | PromiseLike<R>,
    memory: (fallback: MemoryBackend) => R,
    settle?: readonly string[],
    rewrites?: string,
  ): Promise<R> {
    if (this.#closed) throw this.#storeClosed(operation);
    const reconciler = this.reconciler;
    let fallback: ((fallback: MemoryBackend) => R) | undefined =
      this.#memory === undefined ? undefined : memory;
    if (reconciler !== undefined && settle !== undefined && reconciler.pending > 0) {
      const settling = reconciler.settle(settle);
      if (settling !== undefined) {
        const settled = await beforeDeadline(settling.done, deadline.until);
        if (settled !== true) {
          const cause =
            settled === EXPIRED
              ? new GuardTimeoutError(this.timeoutMs)
              : new Error('changes made in memory during the outage are not in Redis yet');
          // Not in Redis (yet): memory holds the truth about these keys, unless part of them
          // landed meanwhile (memory dropped those), when neither can answer for all of them.
          if (!settling.memoryKnows()) throw this.unavailable(operation, cause);
          return this.#fromMemory(operation, memory, rewrites, cause);
        }
        // Replayed: memory dropped its copies and no longer knows these keys.
        fallback = undefined;
      }
    }
    return this.#toRedis(operation, deadline, redis, fallback, rewrites);
  }

  /**
   * A `SessionUnavailableError` for `operation` caused by `cause`, with the diagnosis, counted and
   * published as a fail-closed call.
   */
  unavailable(operation: string, cause: unknown): SessionUnavailableError {
    this.failedClosed++;
    const problem = this.problemOf(cause);
    if (failClosedChannel.hasSubscribers) {
      failClosedChannel.publish({ operation, kind: problem?.kind ?? null });
    }
    return new SessionUnavailableError(operation, cause, problem);
  }

  /**
   * What is wrong, for an error of a call: the problem the error carries, else what it says (dated
   * like the connection's own diagnosis when they agree), else the connection's diagnosis.
   */
  problemOf(cause: unknown): Problem | undefined {
    const own = (cause as { problem?: Problem } | null | undefined)?.problem;
    if (own !== undefined) return own;
    const current = this.connection.diagnosis() ?? undefined;
    const found =
      diagnose(cause, { timeoutMs: this.timeoutMs }) ??
      // A link just lost has no diagnosis until a reconnection attempt fails: as far as a caller
      // can tell, Redis refused the call.
      (current === undefined && this.connection.state !== 'ready'
        ? diagnose(LINK_DOWN)
        : undefined);
    if (found === undefined) return current;
    return current?.kind === found.kind ? current : { ...found, since: Date.now() };
  }

  /** Stops the calls (later ones fail closed) and the reconciler; frees the memory fallback. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.connection.off('usable', this.#onUsable);
    this.reconciler?.close();
    this.#memory?.close();
  }

  async #toRedis<R>(
    operation: string,
    deadline: CallDeadline,
    redis: (client: RedisClient) => R | PromiseLike<R>,
    memory: ((fallback: MemoryBackend) => R) | undefined,
    rewrites: string | undefined,
  ): Promise<R> {
    const connection = this.connection;
    if (deadline.redisAnswered) memory = undefined;
    if (connection.state !== 'ready') {
      // A misconfiguration is not waited out: answered at once, with the diagnosis.
      const problem = connection.diagnosis();
      if (problem?.misconfiguration) {
        return this.#unusable(operation, new RedisMisconfiguredError(problem), memory, rewrites);
      }
    }
    const left = deadline.until - performance.now();
    if (left <= 0) {
      return this.#unusable(operation, new GuardTimeoutError(this.timeoutMs), memory, rewrites);
    }
    // The memory fallback runs at most once per call: by the guard (timeout, open circuit, link
    // down), or here at the caller's deadline, after which a late call by the guard does nothing.
    let answered = false;
    const fallback =
      memory === undefined
        ? undefined
        : (error: unknown): R => {
            if (answered) return undefined as R;
            answered = true;
            return this.#fromMemory(operation, memory, rewrites, error);
          };
    try {
      const call = connection.execute(redis, { operation, fallback });
      const result =
        left >= this.timeoutMs - FRESH_MS ? await call : await beforeDeadline(call, deadline.until);
      if (result === EXPIRED) {
        const timeout = new GuardTimeoutError(this.timeoutMs);
        if (fallback === undefined) throw this.unavailable(operation, timeout);
        return fallback(timeout);
      }
      if (!answered) {
        deadline.redisAnswered = true;
        // Redis answered: a good moment to replay what the memory fallback did meanwhile.
        const reconciler = this.reconciler;
        if (reconciler !== undefined && reconciler.pending > 0) reconciler.kick();
      }
      return result;
    } catch (error) {
      // Already a fail-closed error of this store (from the fallback): counted once.
      if (isSessionError(error)) throw error;
      if (isUnavailable(error)) throw this.unavailable(operation, error);
      throw error;
    }
  }

  #unusable<R>(
    operation: string,
    cause: unknown,
    memory: ((fallback: MemoryBackend) => R) | undefined,
    rewrites: string | undefined,
  ): R {
    if (memory === undefined) throw this.unavailable(operation, cause);
    return this.#fromMemory(operation, memory, rewrites, cause);
  }

  #fromMemory<R>(
    operation: string,
    memory: (fallback: MemoryBackend) => R,
    rewrites: string | undefined,
    cause: unknown,
  ): R {
    const fallback = this.#memory;
    if (fallback === undefined) throw this.unavailable(operation, cause);
    if (rewrites !== undefined && this.reconciler?.copyInDoubt(rewrites)) {
      throw this.unavailable(
        operation,
        new Error(
          'this session was copied into Redis after the outage and Redis has not confirmed the copy yet: a change made in memory now could be lost, so it is refused; try again once Redis answers',
          { cause },
        ),
      );
    }
    const result = memory(fallback);
    this.servedFromMemory++;
    return result;
  }

  // A replay of the reconciler: Redis only (no fallback), under the same deadline and breaker as
  // every call, and only while the connection is usable.
  async #replay(
    script: string,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const connection = this.connection;
    if (this.#closed || connection.state !== 'ready') {
      const cause = new Error(`Redis is not usable (connection ${connection.state})`);
      throw new SessionUnavailableError('reconcile', cause, connection.diagnosis() ?? undefined);
    }
    try {
      return await connection.execute(
        () => connection.script(script).run(keys.length, ...keys, ...args),
        { operation: 'reconcile' },
      );
    } catch (error) {
      if (isUnavailable(error)) {
        throw new SessionUnavailableError('reconcile', error, this.problemOf(error));
      }
      throw error;
    }
  }

  #storeClosed(operation: string): SessionUnavailableError {
    this.failedClosed++;
    if (failClosedChannel.hasSubscribers) failClosedChannel.publish({ operation, kind: null });
    return new SessionUnavailableError(
      operation,
      new Error('the store is closed: create a new one with createSessionStore()'),
      undefined,
    );
  }

  readonly #onUsable = (): void => {
    this.reconciler?.kick();
  };
}

/** An error that says Redis could not serve the call (as opposed to a command error). */
function isUnavailable(error: unknown): boolean {
  return (
    isBreakerError(error) || isInfrastructureError(error) || isXError(error, 'E_CONNECTION_CLOSED')
  );
}
