import type { Connection, RedisStats } from '@x/connection';
import { type LockBackend, type Settled, settle } from './backend.js';
import type { LockUnavailableError } from './errors.js';
import type { LockOperation, LockServer } from './server.js';

/** How the servers answered one operation. */
export interface Tally {
  /** Indices of the servers that said yes (granted, released, extended). */
  yes: number[];
  /** Servers that answered no. */
  no: number;
  /** Servers that could not answer (unreachable, frozen past the deadline, circuit open). */
  failed: number;
  /** The first failure, and on which server. */
  cause: { at: number; error: unknown } | undefined;
}

/**
 * `'yes'`: a majority said yes. `'no'`: not even the failed servers could have made a majority.
 * `'unknown'`: the failed servers decide, so the outcome is not known.
 */
export type Verdict = 'yes' | 'no' | 'unknown';

/** Counts the answers of every server to one operation: the one tally of quorum mode. */
export function tally(results: readonly Settled[], isYes: (value: unknown) => boolean): Tally {
  const t: Tally = { yes: [], no: 0, failed: 0, cause: undefined };
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (!r.ok) {
      t.failed++;
      t.cause ??= { at: i, error: r.error };
    } else if (isYes(r.value)) t.yes.push(i);
    else t.no++;
  }
  return t;
}

/** What a tally means with `quorum` grants needed. */
export function verdict(t: Tally, quorum: number): Verdict {
  if (t.yes.length >= quorum) return 'yes';
  return t.yes.length + t.failed >= quorum ? 'unknown' : 'no';
}

const isGrant = (reply: unknown): boolean => (reply as number) > 0;
const isOne = (reply: unknown): boolean => reply === 1;
const answered = (): boolean => true;

/**
 * Quorum mode (Redlock) over several independent servers: a lock is held when a majority granted
 * it within its validity time. Every call goes to every server at once, each under its own
 * connection (deadline and breaker), so a frozen server costs at most its deadline; the answers
 * are counted by one {@link tally}.
 *
 * The fencing token is the largest one granted; the servers that granted it then raise their
 * counters to it, and since any two majorities overlap, the next lock gets a larger token.
 * Partial grants are given back at once.
 */
export class QuorumServers implements LockBackend {
  readonly servers: number;
  readonly quorum: number;
  readonly connections: readonly Connection[];
  readonly #servers: readonly LockServer[];

  constructor(servers: readonly LockServer[]) {
    this.#servers = servers;
    this.servers = servers.length;
    this.quorum = Math.floor(servers.length / 2) + 1;
    this.connections = servers.map((s) => s.connection);
  }

  async acquire(
    lockKey: string,
    token: string,
    ttlMs: number,
    validUntil: number,
  ): Promise<number> {
    const results = await Promise.all(
      this.#servers.map((s) => settle(s.acquire(lockKey, token, ttlMs))),
    );
    const t = tally(results, isGrant);
    if (verdict(t, this.quorum) === 'yes') {
      let fence = 0;
      for (const i of t.yes) fence = Math.max(fence, (results[i] as { value: number }).value);
      // Every later majority overlaps this one: raising the counters there makes the next token
      // larger.
      const fenceKey = `${lockKey}:fence`;
      const raised = await Promise.all(
        t.yes.map((i) => settle(this.#servers[i]!.raise(fenceKey, fence))),
      );
      if (tally(raised, answered).yes.length >= this.quorum && performance.now() < validUntil) {
        return fence;
      }
    }
    // Give back partial grants before anyone retries (failures only delay their expiry).
    if (t.yes.length > 0) await this.#releaseOn(t.yes, lockKey, token);
    // The servers that answered cannot make a majority either way: Redis is unavailable.
    if (t.yes.length + t.no < this.quorum) throw this.#unavailable('acquire', t);
    let busy = -1;
    for (const r of results) {
      if (!r.ok || isGrant(r.value)) continue;
      const reply = r.value as number;
      const left = reply === 0 ? -1 : -1 - reply;
      if (left >= 0 && (busy < 0 || left < busy)) busy = left;
    }
    return -1 - Math.max(busy, 0);
  }

  async release(lockKey: string, token: string): Promise<boolean> {
    const t = tally(await this.#onAll((s) => s.release(lockKey, token)), isOne);
    const v = verdict(t, this.quorum);
    if (v === 'unknown') throw this.#unavailable('release', t);
    return v === 'yes';
  }

  async extend(lockKey: string, token: string, ttlMs: number): Promise<boolean> {
    const t = tally(await this.#onAll((s) => s.extend(lockKey, token, ttlMs)), isOne);
    const v = verdict(t, this.quorum);
    if (v === 'unknown') throw this.#unavailable('extend', t);
    return v === 'yes';
  }

  releaseQuietly(lockKey: string, token: string): void {
    void this.#releaseOn(
      this.#servers.map((_, i) => i),
      lockKey,
      token,
    );
  }

  unavailable(operation: LockOperation, error: unknown): LockUnavailableError {
    // Errors of acquire are LockUnavailableErrors already, passed through.
    return this.#servers[0]!.unavailable(operation, error);
  }

  stats(): RedisStats[] {
    return this.connections.map((c) => c.stats());
  }

  #onAll(call: (server: LockServer) => Promise<unknown>): Promise<Settled[]> {
    return Promise.all(this.#servers.map((s) => settle(call(s))));
  }

  async #releaseOn(indices: readonly number[], lockKey: string, token: string): Promise<void> {
    await Promise.all(indices.map((i) => settle(this.#servers[i]!.release(lockKey, token))));
  }

  #unavailable(operation: LockOperation, t: Tally): LockUnavailableError {
    const at = t.cause?.at ?? 0;
    return this.#servers[at]!.unavailable(operation, t.cause?.error);
  }
}
