// The near-cache invariant: no read returns a value older than the last write acknowledged more
// than the invalidation bound earlier, except a value marked stale during an outage (the
// fail-safe), and that one never older than failSafeMaxAgeMs.
//
// Another process (the controller, with a plain client that bypasses the fault proxy) writes
// versioned values to a few shared keys and notes when each write was acknowledged; the workers
// read those keys through the hybrid client's getEntry and note what they got, where from, and
// when they asked.
import { loadConfig } from '@x/config';
import { createConnection } from '@x/connection';

/** Keys every worker reads and only the controller writes. */
export const SHARED_KEYS = 16;
/** Key name of shared key `i`. */
export const sharedKey = (i: number): string => `chaos:shared:${i}`;
/**
 * The invalidation bound the invariant allows, ms: the tracking lease of a client with a 250 ms
 * deadline (250 ms: a copy stops counting as fresh when no PING sent on the invalidation
 * connection within it was answered) plus one beat of it (83 ms), plus scheduling slack on a loaded
 * 2-core machine. On a healthy loopback the delay is a fraction of a millisecond (bench case 10).
 */
export const INVALIDATION_BOUND_MS = 500;
/** The hybrid client's default `failSafeMaxAgeMs` (the workers keep it). */
export const FAIL_SAFE_MAX_AGE_MS = 600_000;
/** Pause between two writes of the controller, ms. */
const WRITE_EVERY_MS = 10;
/** A write not acknowledged within this is abandoned (it may still land: that is allowed). */
const WRITE_DEADLINE_MS = 200;

/** Wall-clock ms with sub-ms precision, comparable across the processes of one machine. */
export const wall = (): number => performance.timeOrigin + performance.now();

/** Where a value read by a worker came from (`getEntry`'s source) and whether it was stale. */
export const SOURCE_CODES = { near: 0, redis: 1, memory: 2 } as const;

/**
 * Reads of the shared keys by one worker, one flat array of 4 numbers per read:
 * `[key index, version (-1: null), source code + 4 when stale, wall ms when the read started]`.
 */
export type CoherenceReads = number[];

/** Acknowledged writes: per key, `[version, wall ms of the acknowledgement]` in version order. */
export type WriteLog = [number, number][][];

/** Encodes a value the controller writes. */
export const versionValue = (version: number): string => `w${version}`;

/** The version of a value read, -1 for a miss, NaN for a value the controller never wrote. */
export function versionOf(value: string | null): number {
  if (value === null) return -1;
  return /^w\d+$/.test(value) ? Number(value.slice(1)) : Number.NaN;
}

/**
 * The controller's writer: round-robin over the shared keys, one write every 10 ms, each version
 * one more than the key's last, each acknowledgement noted. Runs until `stop()`.
 *
 * It writes through a connection with the failover fence: on Sentinel the old primary goes on
 * acknowledging writes for about a second after its replica was promoted, and loses them (the
 * readers then rightly see the new primary's older value). Acknowledgements that do not last are
 * not writes a cache can be held to.
 */
export function startWriter(env: Record<string, string>): { stop(): Promise<WriteLog> } {
  const connection = createConnection({
    redis: loadConfig({ env }),
    name: 'chaos-writer',
    failoverFence: true,
    timeoutMs: WRITE_DEADLINE_MS,
    logger: false,
  });
  const log: WriteLog = Array.from({ length: SHARED_KEYS }, () => []);
  const versions = new Array<number>(SHARED_KEYS).fill(0);
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const k = i % SHARED_KEYS;
      const version = ++versions[k]!;
      let timer: NodeJS.Timeout | undefined;
      const acked = await Promise.race([
        connection
          .execute((redis) => redis.set(sharedKey(k), versionValue(version)))
          .then(
            () => true,
            () => false,
          ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), WRITE_DEADLINE_MS);
        }),
      ]);
      clearTimeout(timer);
      if (acked) log[k]!.push([version, wall()]);
      await new Promise((r) => setTimeout(r, WRITE_EVERY_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await connection.close();
      return log;
    },
  };
}

/** What the invariant found. */
export interface CoherenceFigures {
  /** Reads of the shared keys checked (misses included). */
  reads: number;
  /** Reads served from a near-cache copy. */
  nearReads: number;
  /** Reads marked stale (served by the fail-safe while Redis was unusable). */
  staleReads: number;
  /** Reads (not stale) of a value older than a write acknowledged more than the bound before. */
  violations: number;
  /**
   * The largest lag seen on a read that was not stale: how long before the read started a newer
   * write had been acknowledged (0 when every read returned the newest acknowledged value).
   */
  maxLagMs: number;
  /** Writes acknowledged by Redis during the run. */
  writes: number;
}

/**
 * Checks every read against the write log; pushes a description of each broken rule (the first
 * few) to `violations`.
 */
export function checkCoherence(
  readsByWorker: { id: number; reads: CoherenceReads | undefined }[],
  log: WriteLog,
  violations: string[],
): CoherenceFigures {
  const figures: CoherenceFigures = {
    reads: 0,
    nearReads: 0,
    staleReads: 0,
    violations: 0,
    maxLagMs: 0,
    writes: log.reduce((n, writes) => n + writes.length, 0),
  };
  const examples: string[] = [];
  for (const { id, reads } of readsByWorker) {
    if (reads === undefined) continue;
    for (let i = 0; i + 3 < reads.length; i += 4) {
      const key = reads[i]!;
      const version = reads[i + 1]!;
      const flags = reads[i + 2]!;
      const at = reads[i + 3]!;
      figures.reads++;
      const stale = flags >= 4;
      const source = flags & 3;
      if (source === SOURCE_CODES.near) figures.nearReads++;
      if (stale) figures.staleReads++;
      if (Number.isNaN(version)) {
        figures.violations++;
        if (examples.length < 3)
          examples.push(`worker ${id} read a value nobody wrote on key ${key}`);
        continue;
      }
      if (version < 0) continue; // a miss is allowed (a cache may always miss)
      const writes = log[key] ?? [];
      // The first acknowledged write newer than what was read: the read lags behind it.
      const newer = writes.find(([v]) => v > version);
      if (newer === undefined) continue;
      const lag = at - newer[1];
      if (stale) {
        // The fail-safe may serve an old value, but not one superseded longer ago than its bound.
        if (lag > FAIL_SAFE_MAX_AGE_MS) {
          figures.violations++;
          if (examples.length < 3) {
            examples.push(
              `worker ${id} served key ${key} stale ${Math.round(lag)} ms after a newer write`,
            );
          }
        }
        continue;
      }
      if (lag > figures.maxLagMs) figures.maxLagMs = lag;
      if (lag > INVALIDATION_BOUND_MS) {
        figures.violations++;
        if (examples.length < 3) {
          examples.push(
            `worker ${id} read w${version} of key ${key} (source ${['near', 'redis', 'memory'][source]}) ${Math.round(lag)} ms after w${newer[0]} was acknowledged`,
          );
        }
      }
    }
  }
  figures.maxLagMs = Math.round(figures.maxLagMs);
  if (figures.violations > 0) {
    violations.push(
      `coherence: ${figures.violations} read(s) older than the last write acknowledged more than ${INVALIDATION_BOUND_MS} ms before (${examples.join('; ')})`,
    );
  }
  if (figures.reads === 0) violations.push('coherence: no read of the shared keys was recorded');
  if (figures.writes === 0)
    violations.push('coherence: no write of the shared keys was acknowledged');
  return figures;
}
