import type { RedisClient } from '@x/config';
import type { LocalCache } from '@x/local-cache';
import type { Journal, JournalEntry } from './_internal/journal.js';
import type { RecoveryPolicy } from './options.js';

const now = (): number => performance.now();
const noop = (): void => {};

/** Rounds of reconciliation before switching back while writes keep coming. */
const MAX_ROUNDS = 4;

/** What a reconciliation did. */
export interface ReconcileOutcome {
  /** Keys reconciled in Redis. */
  reconciled: number;
  /** The journal dropped keys during the outage. */
  overflowed: boolean;
  /** Keys the journal dropped. */
  dropped: number;
  /**
   * Keys written while the last rounds ran: reconciled after the switch back (see
   * {@link Reconciler.settleRest}), `undefined` when there are none.
   */
  rest: [string, JournalEntry][] | undefined;
}

/**
 * Applies the recovery policy to the keys written in memory during an outage (the journal),
 * before the client goes back to Redis:
 * - `invalidate` deletes them in Redis, so values older than the outage cannot resurface;
 * - `replay` writes memory's values (with their remaining TTL; strings with `SET PX`, hashes and
 *   lists with one `MULTI` per key) and deletes keys missing in memory;
 * - `none` leaves Redis as it is, except keys whose Redis write timed out (`uncertain`: the late
 *   write may have landed), which are deleted whatever the policy.
 * Every round runs under one deadline; writes made meanwhile are reconciled in further rounds.
 */
export class Reconciler {
  readonly #client: RedisClient;
  readonly #store: LocalCache;
  readonly #journal: Journal;
  readonly #policy: RecoveryPolicy;
  readonly #deadlineMs: number;
  // The near cache's drop: a write sent here must void the key's copy and reads in flight, as a
  // write of the backend does (Redis does not tell a connection tracking with NOLOOP).
  readonly #drop: ((key: string) => void) | undefined;
  #stopped = false;

  constructor(
    client: RedisClient,
    store: LocalCache,
    journal: Journal,
    policy: RecoveryPolicy,
    timeoutMs: number,
    drop?: (key: string) => void,
  ) {
    this.#drop = drop;
    this.#client = client;
    this.#store = store;
    this.#journal = journal;
    this.#policy = policy;
    this.#deadlineMs = Math.max(1_000, timeoutMs * 4);
  }

  /** The policy applied on recovery. */
  get policy(): RecoveryPolicy {
    return this.#policy;
  }

  /**
   * Drains the journal round by round and applies the policy. Rejects when a round fails (the
   * journal then holds its keys again, newer writes winning) or takes longer than its deadline.
   */
  async reconcile(): Promise<ReconcileOutcome> {
    const outcome: ReconcileOutcome = {
      reconciled: 0,
      overflowed: false,
      dropped: 0,
      rest: undefined,
    };
    for (let round = 0; !this.#stopped; round++) {
      const batch = this.#journal.drain(now());
      outcome.overflowed ||= batch.overflowed;
      outcome.dropped += batch.dropped;
      if (batch.entries.length === 0) break;
      if (round >= MAX_ROUNDS) {
        // Writes keep coming: switch now and invalidate the rest (no memory value needed).
        outcome.rest = batch.entries;
        break;
      }
      try {
        outcome.reconciled += await this.#apply(batch.entries, this.#policy);
      } catch (error) {
        this.#journal.restore(batch, now());
        throw error;
      }
    }
    return outcome;
  }

  /**
   * Reconciles keys left by {@link reconcile} after the switch back, in the background: memory is
   * cleared by then, so they are deleted (`invalidate`), or left alone with `none`.
   */
  settleRest(entries: [string, JournalEntry][]): void {
    const policy = this.#policy === 'none' ? 'none' : 'invalidate';
    this.#apply(entries, policy).catch(noop);
  }

  /** No further round starts (the client is closing). */
  stop(): void {
    this.#stopped = true;
  }

  /** Applies `policy` to `entries` in Redis, under one deadline. Resolves the keys touched. */
  async #apply(entries: [string, JournalEntry][], policy: RecoveryPolicy): Promise<number> {
    const client = this.#client;
    // Commands of a client that lost its link could wait in its offline queue and run after the
    // deadline, over newer values: only send while it is connected.
    if (client.status !== 'ready') throw new Error('Connection is closed (reconciliation)');
    const work: Promise<unknown>[] = [];
    for (const [key, entry] of entries) {
      this.#drop?.(key);
      if (policy === 'invalidate' || (policy === 'none' && entry.uncertain)) {
        work.push(client.del(key));
      } else if (policy === 'replay') work.push(this.#replay(key));
    }
    if (work.length === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    const limit = this.#deadlineMs;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reconciliation took longer than ${limit} ms`)),
        limit,
      );
      timer.unref();
    });
    try {
      await Promise.race([Promise.all(work), deadline]);
    } finally {
      clearTimeout(timer);
    }
    return work.length;
  }

  #replay(key: string): Promise<unknown> {
    const client = this.#client;
    const store = this.#store;
    const type = store.type(key);
    if (type === 'none') return client.del(key);
    const ttl = store.ttl(key);
    if (type === 'string') {
      const value = store.get(key)!;
      return ttl > 0 ? client.set(key, value, 'PX', ttl) : client.set(key, value);
    }
    const tx = client.multi().del(key);
    if (type === 'hash') tx.hset(key, store.hgetall(key));
    else tx.rpush(key, ...store.lrange(key, 0, -1));
    if (ttl > 0) tx.pexpire(key, ttl);
    return tx.exec().then((results) => {
      for (const [error] of results ?? []) if (error) throw error;
    });
  }
}
