/** Where the workers find Redis, as the environment variables of `@x/config`. */
export type RedisEnv = Record<string, string>;

/** What one worker process is told to do. */
export interface WorkerConfig {
  id: number;
  redisEnv: RedisEnv;
  durationMs: number;
  /** Concurrent cache loops (get/set through the hybrid client). */
  cacheLoops: number;
  /** The hybrid client's per-call deadline. */
  operationTimeoutMs: number;
  lock: { key: string; ttlMs: number; holdMs: number };
  rateLimit: { key: string; limit: number; windowMs: number; instances: number };
  /**
   * Scenario `credential-rotation`: authenticate as `username` with a credentials provider that
   * reads the current password from `file` (the controller rotates it).
   */
  credentials?: { file: string; username: string };
}

/** One critical section run under the lock, as seen by its holder. */
export interface LockInterval {
  worker: number;
  token: number;
  /** Epoch ms (with fractions) when the holder entered / left the critical section. */
  enter: number;
  exit: number;
}

/** Everything a worker measured. */
export interface WorkerSummary {
  id: number;
  cache: {
    ops: number;
    failures: number;
    maxLatencyMs: number;
    overDeadline: number;
    redisOps: number;
    fallbackOps: number;
    errors: string[];
  };
  failovers: number[];
  recoveries: number[];
  lock: { held: number; unavailable: number; contended: number; lost: number; errors: string[] };
  rate: {
    /** `[source, resetAt, admitted]` per window. */
    windows: [string, number, number][];
    localLimit: number;
    errors: string[];
  };
  session: {
    ok: number;
    unavailable: number;
    wrongData: number;
    errors: string[];
    /** Sessions created before the faults, still readable with the same data at the end. */
    intact: number;
    checked: number;
  };
  /**
   * Heap used (bytes): after GC at the start and at the end, and `[ms since start, heapUsed]`
   * sampled once a second in between (no forced GC: a leak shows as a rising floor).
   */
  heap: { before: number; after: number; samples: [number, number][] };
  /** Reads of the shared keys (see coherence.ts), 4 numbers per read. */
  coherence?: number[];
  unhandled: string[];
  /** With `credentials`: what the credentials did (see worker-auth.ts). */
  auth?: AuthSummary;
}

/** What a worker with rotating credentials saw of them. */
export interface AuthSummary {
  /** Calls of the credentials provider (every connection, reconnection and re-authentication). */
  providerCalls: number;
  /** Failures for credentials: call errors, connection problems, failovers (the first few). */
  failures: string[];
  /** How many there were in all. */
  failureCount: number;
  /** `cause` of every failover of the hybrid client. */
  failoverCauses: string[];
}

/** Messages from a worker to the controller. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'lock'; interval: LockInterval }
  | { type: 'summary'; summary: WorkerSummary };

/** Messages from the controller to a worker. */
export type ControllerMessage = { type: 'go' };
