// The load of the credential-rotation test (issue 14, item 5): one instance of each feature
// package, all created from one @x/config config whose `credentials` provider reads the current
// password, driven by concurrent workers while the password rotates and the user's connections are
// killed. Every call, every auth problem, every failover and every pub/sub message is accounted for.
import diagnostics_channel from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Credentials, loadConfig } from '@x/config';
import { CONNECTION_CHANNELS, type ConnectionProblemMessage } from '@x/connection';
import { createHybridClient, type FailoverEvent } from '@x/hybrid-client';
import { createLockManager } from '@x/lock';
import { createPubSub, type GapInfo } from '@x/pubsub';
import { createRateLimiter } from '@x/ratelimit';
import { createSessionStore } from '@x/session';
import { isAuthFailure } from './auth-failure';
import {
  type CredentialRotation,
  createAclUser,
  denyDefaultUserData,
  type RotationFigures,
  startCredentialRotation,
} from './credential-rotator';

/** Options of {@link runRotationLoad}. */
export interface RotationLoadOptions {
  /** Where Redis is, as `@x/config` environment variables (no password: the provider gives it). */
  redisEnv: Record<string, string>;
  /** Ports of every data node (ACL changes and `CLIENT KILL USER` go to each). */
  nodes: () => number[];
  /** Concurrent workers. @default 50 */
  workers?: number;
  /** How long the workers run, ms. @default 5000 */
  durationMs?: number;
  /** @default 200 */
  rotateEveryMs?: number;
  /** @default 300 */
  killEveryMs?: number;
  /** Sharded pub/sub (`SPUBLISH` / `SSUBSCRIBE`). @default false */
  sharded?: boolean;
}

/** Calls of one package operation. */
export interface CallFigures {
  calls: number;
  /** Calls that failed once with a lost connection and were sent again (see {@link RETRY_POLICY}). */
  retried: number;
  /** Calls that failed for good (after their one retry, where allowed). */
  failed: number;
  /**
   * Of `failed`: calls a killed connection failed that could not be retried (not safe to send
   * twice: in flight when the connection was killed), or whose retry met the next kill.
   */
  failedKilled: number;
}

/** What {@link runRotationLoad} saw. */
export interface RotationOutcome {
  rotation: RotationFigures;
  /** Provider calls: every new connection, reconnection and re-authentication asked it. */
  providerCalls: number;
  /** Connections that reconnected (`stats().redis.outages` summed, plus pub/sub gaps). */
  outages: number;
  calls: Record<string, CallFigures>;
  /**
   * Failures that are not a lost connection (not one of `failedKilled`), by `op: code: message
   * (cause)`, with their count (at most 20 kinds): each one is a broken invariant.
   */
  failures: Record<string, number>;
  /** The calls a killed connection failed for good, by `op: cause`, with their count. */
  killedFailures: Record<string, number>;
  /** Every failure for credentials (a call's error, a reported problem, a log line), at most 20. */
  authFailures: string[];
  /** `cause` of each failover of the hybrid client (e.g. `'connection_lost'`). */
  failoverCauses: string[];
  lock: { holds: number; overlaps: number; tokensIncrease: boolean };
  rate: { limit: number; maxRedisWindow: number; redisDecisions: number; localDecisions: number };
  pubsub: {
    published: number;
    received: number;
    duplicates: number;
    gaps: number;
    /** Messages missing inside a reported gap (allowed). */
    lostInGaps: number;
    /** Messages missing outside every reported gap: each one is a broken invariant. */
    lostOutsideGaps: number;
    /** The first of those, `worker:seq published at ...` (at most 5). */
    lostExamples: string[];
  };
}

/**
 * Which failed calls a worker sends again, once, after the package's connection is usable again:
 * only a failure with a lost connection (the package's "unavailable" error, with a diagnosis that
 * is not `auth`), and only for operations whose contract makes a second send harmless.
 *
 * - `session.get`: a read that does not extend the session.
 * - `session.destroy`: idempotent (a second destroy of a session the first one removed finds none).
 * - `session.create`: only when the store failed it before sending (the client was reconnecting,
 *   or the breaker refused the call): the script never reached Redis, so no session was made. A
 *   create in flight when its connection was killed may have made the session: sent again, it
 *   would make a second one (another id) that stays in the user's index until it expires.
 * - `lock.withLock`: `LockUnavailableError` comes only from the acquisition (a failed release is
 *   swallowed, the lock then expires), so the callback did not run; an acquisition whose reply was
 *   lost leaves a lock nobody holds until its TTL, which the retry waits out like any contention.
 * - `pubsub.publish`: sent again with the same sequence number; a first send that did reach Redis
 *   shows as a duplicate, which the subscriber counts and ignores.
 *
 * The hybrid client (memory fallback) and the rate limiter (`fallback: 'local'`) never fail a call
 * for Redis being unavailable: any failure of theirs is final.
 */
export const RETRY_POLICY = {
  'session.get': 'always',
  'session.destroy': 'always',
  'session.create': 'if-not-sent',
  'lock.withLock': 'always',
  'pubsub.publish': 'always',
} as const;

const UNAVAILABLE = new Set([
  'E_SESSION_UNAVAILABLE',
  'E_LOCK_UNAVAILABLE',
  'E_PUBSUB_UNAVAILABLE',
]);
// What a killed connection does to a call: it fails before it is sent (the client is reconnecting,
// or the breaker opened on the calls the kill failed), or in flight (ioredis flushes the commands
// awaiting a reply: maxRetriesPerRequest 0), or on the socket (reset, broken pipe).
const LOST =
  /^(Connection is closed|Cluster isn't ready|Stream isn't writeable|Reached the max retries per request limit|(read|write) (ECONNRESET|EPIPE)|Redis is unusable \((connection_lost|breaker_open)\))/;
/** How late after a kill round a client may still write on the socket it closed, ms. */
const KILL_NOTICE_MS = 100;
const LOST_CODES = new Set(['E_REDIS_NOT_CONNECTED', 'E_BREAKER_OPEN', 'ECONNRESET', 'EPIPE']);

function code(error: unknown): string {
  const e = error as { code?: string; name?: string } | undefined;
  return e?.code ?? e?.name ?? 'unknown';
}

interface Unavailable {
  problem?: { kind?: string } | null;
  cause?: { code?: string; message?: string };
}

/**
 * A lost connection: the package's unavailable error, caused by one of the ways a killed
 * connection fails a call, with the link diagnosed as closed or dropped (`'refused'`), or no
 * diagnosis yet (the socket was closed by the server, the client had not seen it); never a
 * timeout, never credentials.
 */
function connectionLost(error: unknown): boolean {
  if (!UNAVAILABLE.has(code(error)) || isAuthFailure(error)) return false;
  const { problem, cause } = error as Unavailable;
  if (problem != null && problem.kind !== 'refused') return false;
  return LOST_CODES.has(cause?.code ?? '') || LOST.test(cause?.message ?? '');
}

/**
 * The call was refused before anything was written: the client was reconnecting
 * (`E_REDIS_NOT_CONNECTED`, "not connected/ready", ioredis' "Cluster isn't ready" / "Stream isn't
 * writeable" with the offline queue off), or the breaker refused it ("the call was not sent").
 */
function notSent(error: unknown): boolean {
  const cause = (error as Unavailable).cause;
  return (
    cause?.code === 'E_REDIS_NOT_CONNECTED' ||
    cause?.code === 'E_BREAKER_OPEN' ||
    /^(Connection is closed \(the client is not (connected|ready)\)|Cluster isn't ready|Stream isn't writeable)/.test(
      cause?.message ?? '',
    )
  );
}

interface LockHold {
  key: string;
  token: number;
  enter: number;
  exit: number;
}

/**
 * Runs the load and returns what it saw. Starts and stops its own rotation (the user is set up
 * with a first password on every node); creates and closes one instance of each package.
 */
export async function runRotationLoad(options: RotationLoadOptions): Promise<RotationOutcome> {
  const workers = options.workers ?? 50;
  const durationMs = options.durationMs ?? 5_000;
  const username = 'rotating';
  const initial = 'pw-initial';
  await createAclUser(options.nodes(), username, initial);
  await denyDefaultUserData(options.nodes());
  let rotation: CredentialRotation | undefined;
  let providerCalls = 0;
  const credentials = (): Credentials => {
    providerCalls += 1;
    return { username, password: rotation?.current() ?? initial };
  };
  const config = loadConfig({
    env: options.redisEnv,
    // Open connections also re-authenticate with the current password, concurrently with kills.
    overrides: { credentials, credentialsRefreshMs: 500 },
  });

  const authFailures: string[] = [];
  const noteAuth = (where: string, what: unknown): void => {
    if (authFailures.length < 20) {
      authFailures.push(`${where}: ${(what as Error)?.message ?? JSON.stringify(what)}`);
    }
  };
  const onProblem = (message: unknown): void => {
    const { connection, problem } = message as ConnectionProblemMessage;
    if (problem !== null && (problem.kind === 'auth' || isAuthFailure(problem.message))) {
      noteAuth(`problem of ${connection}`, problem);
    }
  };
  diagnostics_channel.subscribe(CONNECTION_CHANNELS.problem, onProblem);
  // Every log line of every package: a line about credentials is a failure too.
  const logger = (msg: string, fields: Record<string, unknown>): void => {
    if (isAuthFailure(msg) || isAuthFailure(fields.message)) noteAuth(`log ${fields.level}`, msg);
  };

  const cache = await createHybridClient({ redis: config, logger });
  // An acquisition or a release that a kill cut leaves the lock held until its TTL (the contract:
  // nobody else may take it meanwhile); a waiter that meets the next kill while it waits fails
  // with it. Shorter than 1 s, a TTL would be lost (LockLostError) by a holder whose acquisition
  // round trip or event loop is slowed that much by a loaded machine.
  const locks = createLockManager({ redis: config, logger, ttlMs: 1_000 });
  const rateLimit = 200;
  const limiter = createRateLimiter({
    redis: config,
    algorithm: 'fixed-window',
    limit: rateLimit,
    windowMs: 1_000,
    fallback: 'local',
    logger,
  });
  const sessions = createSessionStore({ redis: config, logger });
  const pubsub = createPubSub({ redis: config, logger, sharded: options.sharded ?? false });
  const failoverCauses: string[] = [];
  cache.on('failover', (event: FailoverEvent) => {
    failoverCauses.push(event.cause);
    if (event.cause === 'misconfigured' || event.problem?.kind === 'auth') {
      noteAuth('hybrid failover', event.problem ?? event.error);
    }
  });

  const channel = 'rotation:{events}';
  const received = new Map<number, number>();
  let duplicates = 0;
  let receivedCount = 0;
  const gaps: GapInfo[] = [];
  const subscription = pubsub.subscribe(channel);
  subscription.on('message', ({ data }: { data: unknown }) => {
    const { w, seq } = data as { w: number; seq: number };
    const key = w * 1_000_000 + seq;
    receivedCount += 1;
    if (received.has(key)) duplicates += 1;
    else received.set(key, Date.now());
  });
  subscription.on('gap', (gap: GapInfo) => gaps.push(gap));
  subscription.on('error', (error: unknown) => {
    if (isAuthFailure(error)) noteAuth('subscription error', error);
  });
  pubsub.on('error', (error: unknown) => {
    if (isAuthFailure(error)) noteAuth('pubsub error', error);
  });
  await subscription.ready;
  await Promise.all([cache.ping(), sessions.ready({ timeoutMs: 5_000 }), pubsub.ready()]);

  const calls: Record<string, CallFigures> = {};
  const failures: Record<string, number> = {};
  const killedFailures: Record<string, number> = {};
  const killedAttempts: { op: string; attempt: [number, number]; error: unknown }[] = [];
  const noteFailure = (op: string, error: unknown): void => {
    const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
    const what = `${op}: ${code(error)}: ${(error as Error)?.message} (cause: ${cause?.code ?? ''} ${cause?.message?.slice(0, 80) ?? ''})`;
    if (failures[what] !== undefined || Object.keys(failures).length < 20) {
      failures[what] = (failures[what] ?? 0) + 1;
    }
  };
  const figures = (op: string): CallFigures => {
    let f = calls[op];
    if (f === undefined) {
      f = { calls: 0, retried: 0, failed: 0, failedKilled: 0 };
      calls[op] = f;
    }
    return f;
  };
  const redisOf: Record<string, () => { state: string; outages: number }> = {
    session: () => sessions.stats().redis,
    // One server: not an array (that is quorum mode).
    lock: () => [locks.stats().redis].flat()[0]!,
    pubsub: () => pubsub.stats().redis,
  };
  /**
   * Waits until the package's connection is usable again (reconnected, authenticated with the
   * current password, PING answered): a retry sent before that would fail the same way. The loss
   * may not be noticed yet when the call fails (a Cluster closes after its last node): up to 50 ms
   * for the connection to leave `ready`, then until it is back.
   */
  const untilUsable = async (pkg: string, outagesBefore: number): Promise<void> => {
    const redis = redisOf[pkg]!;
    const noticeBy = Date.now() + 50;
    const until = Date.now() + 5_000;
    do await sleep(5);
    while (redis().state === 'ready' && redis().outages === outagesBefore && Date.now() < noticeBy);
    while (redis().state !== 'ready' && Date.now() < until) await sleep(5);
  };
  /** Runs one call; a lost connection is retried once where {@link RETRY_POLICY} allows it. */
  const call = async <T>(op: string, run: () => Promise<T>): Promise<T | undefined> => {
    const f = figures(op);
    f.calls += 1;
    const pkg = op.split('.')[0]!;
    const outagesBefore = redisOf[pkg]?.().outages ?? 0;
    let attemptStart = Date.now();
    try {
      return await run();
    } catch (first) {
      let error = first;
      if (isAuthFailure(error)) noteAuth(op, error);
      const policy = RETRY_POLICY[op as keyof typeof RETRY_POLICY];
      const retry =
        connectionLost(error) &&
        (policy === 'always' || (policy === 'if-not-sent' && notSent(error)));
      if (retry) {
        f.retried += 1;
        await untilUsable(pkg, outagesBefore);
        attemptStart = Date.now();
        try {
          return await run();
        } catch (again) {
          if (isAuthFailure(again)) noteAuth(`${op} (retry)`, again);
          error = again;
        }
      }
      f.failed += 1;
      const attempt: [number, number] = [attemptStart, Date.now()];
      if (connectionLost(error)) {
        // Explained only by a kill round that ran while this attempt did (checked at the end).
        killedAttempts.push({ op: `${op}${retry ? ' (retried)' : ''}`, attempt, error });
      } else {
        noteFailure(`${op}${retry ? ' (retried)' : ''}`, error);
      }
      return undefined;
    }
  };

  const holds: LockHold[] = [];
  const published: { w: number; seq: number; sentAt: number; doneAt: number }[] = [];
  const rateWindows = new Map<number, number>();
  let redisDecisions = 0;
  let localDecisions = 0;
  let running = true;

  const worker = async (w: number): Promise<void> => {
    let n = 0;
    let seq = 0;
    while (running) {
      n += 1;
      const key = `rotation:${w}:${n % 20}`;
      switch (n % 5) {
        case 0: {
          const op = n % 3;
          if (op === 0) await call('cache.set', () => cache.set(key, `v${n}`, { ttl: 30_000 }));
          else if (op === 1) await call('cache.get', () => cache.get(key));
          else
            await call('cache.getOrSet', () => cache.getOrSet(key, () => `v${n}`, { ttl: 30_000 }));
          break;
        }
        case 1: {
          const lockKey = `rotation:lock:${w % 25}`;
          await call('lock.withLock', () =>
            locks.withLock(
              lockKey,
              async (lock) => {
                const enter = performance.timeOrigin + performance.now();
                await sleep(1);
                holds.push({
                  key: lockKey,
                  token: Number(lock.fencingToken),
                  enter,
                  exit: performance.timeOrigin + performance.now(),
                });
              },
              { retry: { attempts: 100, delayMs: 10, jitter: 10 } },
            ),
          );
          break;
        }
        case 2: {
          const r = await call('ratelimit.consume', () => limiter.consume('rotation:rl'));
          if (r?.source === 'redis') {
            redisDecisions += 1;
            if (r.allowed) rateWindows.set(r.resetAt, (rateWindows.get(r.resetAt) ?? 0) + 1);
          } else if (r !== undefined) localDecisions += 1;
          break;
        }
        case 3: {
          const data = { w, n };
          const id = await call('session.create', () => sessions.create(`user-${w}`, data));
          if (id === undefined) break;
          const got = await call('session.get', () => sessions.get(id));
          if (got !== undefined && JSON.stringify(got?.data) !== JSON.stringify(data)) {
            figures('session.get').failed += 1;
            noteFailure(
              'session.get',
              new Error(`read ${JSON.stringify(got)} after creating ${JSON.stringify(data)}`),
            );
          }
          await call('session.destroy', () => sessions.destroy(id));
          break;
        }
        default: {
          seq += 1;
          const message = { w, seq };
          const sentAt = Date.now();
          const ok = await call('pubsub.publish', () => pubsub.publish(channel, message));
          if (ok !== undefined) published.push({ w, seq, sentAt, doneAt: Date.now() });
        }
      }
      // A service yields between requests.
      if (n % 10 === 0) await sleep(1);
    }
  };

  // The packages are connected: rotation and kills start with the load.
  rotation = await startCredentialRotation({
    username,
    password: initial,
    nodes: options.nodes,
    rotateEveryMs: options.rotateEveryMs ?? 200,
    killEveryMs: options.killEveryMs ?? 300,
  });
  const running$ = Array.from({ length: workers }, (_, w) => worker(w));
  await sleep(durationMs);
  running = false;
  await Promise.all(running$);
  const rotationFigures = await rotation.stop();
  // Messages still in flight arrive; then nothing is missing that is not explained.
  await sleep(500);

  const outages =
    (cache.stats().redis?.outages ?? 0) +
    redisOf.lock!().outages +
    limiter.stats().redis.outages +
    sessions.stats().redis.outages +
    pubsub.stats().redis.outages +
    pubsub.stats().gaps;
  diagnostics_channel.unsubscribe(CONNECTION_CHANNELS.problem, onProblem);
  await Promise.all([
    cache.close(),
    locks.close(),
    limiter.close(),
    sessions.close(),
    pubsub.close(),
  ]);

  // A call that failed for good with a lost connection is explained only if a kill round ran
  // while its last attempt did, or ended at most KILL_NOTICE_MS before it started: the client
  // learns that the server closed the socket only when it reads the FIN, so a command written in
  // between is flushed as in flight. Otherwise it is a failure like any other.
  for (const { op, attempt, error } of killedAttempts) {
    const [start, end] = attempt;
    const met = rotationFigures.killTimes.some(
      ([sent, done]) => sent <= end && done >= start - KILL_NOTICE_MS,
    );
    if (met) {
      calls[op.replace(' (retried)', '')]!.failedKilled += 1;
      const cause = (error as Unavailable).cause;
      const what = `${op}: ${(cause?.code ?? cause?.message ?? '').slice(0, 60)}`;
      killedFailures[what] = (killedFailures[what] ?? 0) + 1;
    } else {
      const before = rotationFigures.killTimes.filter(([, done]) => done < start).at(-1);
      const since =
        before === undefined ? 'no kill before it' : `${start - before[1]} ms after a kill round`;
      noteFailure(`${op} (no kill during the attempt: ${since})`, error);
    }
  }

  // Lock: per key, holds never overlap and fencing tokens increase in the order of the holds.
  let overlaps = 0;
  let tokensIncrease = true;
  const byKey = new Map<string, LockHold[]>();
  for (const h of holds) byKey.set(h.key, [...(byKey.get(h.key) ?? []), h]);
  for (const list of byKey.values()) {
    list.sort((a, b) => a.enter - b.enter);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.enter < list[i - 1]!.exit) overlaps += 1;
      if (list[i]!.token <= list[i - 1]!.token) tokensIncrease = false;
    }
  }

  // Pub/sub: a published message may be missing only if its publish overlaps a reported gap,
  // from the kill that caused it (the last kill round before the loss was found) to its end.
  const kills = rotationFigures.killTimes;
  const windows = gaps.map((g) => {
    const cause = kills
      .map(([sent]) => sent)
      .filter((t) => t <= g.since)
      .at(-1);
    return {
      from: cause !== undefined && g.since - cause < 1_000 ? cause : g.since,
      to: g.since + g.downtimeMs,
    };
  });
  let lostInGaps = 0;
  let lostOutsideGaps = 0;
  const lostExamples: string[] = [];
  for (const p of published) {
    if (received.has(p.w * 1_000_000 + p.seq)) continue;
    if (windows.some((x) => p.sentAt <= x.to && p.doneAt >= x.from)) lostInGaps += 1;
    else {
      lostOutsideGaps += 1;
      if (lostExamples.length < 5)
        lostExamples.push(`${p.w}:${p.seq} published ${p.sentAt}..${p.doneAt}`);
    }
  }

  return {
    rotation: rotationFigures,
    providerCalls,
    outages,
    calls,
    failures,
    killedFailures,
    authFailures,
    failoverCauses,
    lock: { holds: holds.length, overlaps, tokensIncrease },
    rate: {
      limit: rateLimit,
      maxRedisWindow: Math.max(0, ...rateWindows.values()),
      redisDecisions,
      localDecisions,
    },
    pubsub: {
      published: published.length,
      received: receivedCount,
      duplicates,
      gaps: gaps.length,
      lostInGaps,
      lostOutsideGaps,
      lostExamples,
    },
  };
}
