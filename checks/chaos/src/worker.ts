// A load generator process: drives the hybrid client, locks, rate limits and sessions at once
// and reports what it saw. Started by the controller with an IPC channel; never exits with an
// unhandled rejection (those are counted, because counting them is one of the invariants).
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@x/config';
import { createHybridClient } from '@x/hybrid-client';
import { createLockManager } from '@x/lock';
import { createRateLimiter } from '@x/ratelimit';
import { createSessionStore } from '@x/session';
import {
  type CoherenceReads,
  SHARED_KEYS,
  SOURCE_CODES,
  sharedKey,
  versionOf,
  wall,
} from './coherence';
import { DEADLINE_MARGIN_MS } from './invariants';
import type { ControllerMessage, WorkerConfig, WorkerMessage, WorkerSummary } from './protocol';
import { type AuthWatch, watchAuth } from './worker-auth';

const config = JSON.parse(process.env.CHAOS_WORKER ?? '{}') as WorkerConfig;
const send = (message: WorkerMessage) => process.send?.(message);
const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));
process.on('uncaughtException', (error) => unhandled.push(`uncaught: ${error.message}`));

function code(error: unknown): string {
  const e = error as { code?: string; name?: string; message?: string };
  return e?.code ?? e?.name ?? String(error);
}
function note(list: string[], error: unknown): void {
  if (list.length < 5) list.push(`${code(error)}: ${(error as Error)?.message ?? error}`);
}

async function main(): Promise<void> {
  // ---- credential-rotation: the password comes from the file the controller rotates ----
  const auth: AuthWatch | undefined = config.credentials
    ? watchAuth(config.credentials.file, config.credentials.username)
    : undefined;
  const redisConfig = loadConfig({
    env: config.redisEnv,
    ...(auth ? { overrides: { credentials: auth.provider } } : {}),
  });
  // ---- end credential-rotation ----
  const silent = () => {};
  const cache = await createHybridClient({
    redis: redisConfig,
    timeoutMs: config.operationTimeoutMs,
    probeIntervalMs: 200,
    logger: silent,
  });
  const locks = createLockManager({ redis: redisConfig });
  const limiter = createRateLimiter({
    redis: redisConfig,
    algorithm: 'fixed-window',
    limit: config.rateLimit.limit,
    windowMs: config.rateLimit.windowMs,
    fallback: 'local',
    instances: config.rateLimit.instances,
    logger: silent,
  });
  // Idle lifetime longer than the run: the sessions created first are checked at the end.
  const sessions = createSessionStore({
    redis: redisConfig,
    ttlMs: Math.max(60_000, config.durationMs + 60_000),
  });

  const s: WorkerSummary = {
    id: config.id,
    cache: {
      ops: 0,
      failures: 0,
      maxLatencyMs: 0,
      overDeadline: 0,
      redisOps: 0,
      fallbackOps: 0,
      errors: [],
    },
    failovers: [],
    recoveries: [],
    lock: { held: 0, unavailable: 0, contended: 0, lost: 0, errors: [] },
    rate: { windows: [], localLimit: 0, errors: [] },
    session: { ok: 0, unavailable: 0, wrongData: 0, errors: [], intact: 0, checked: 0 },
    heap: { before: 0, after: 0, samples: [] },
    unhandled,
  };
  cache.on('failover', () => s.failovers.push(Date.now()));
  cache.on('recover', () => s.recoveries.push(Date.now()));
  // ---- credential-rotation ----
  if (auth) cache.on('failover', (event) => auth.onFailover(event));
  // ---- end credential-rotation ----

  // Sessions created before any fault: they must be intact at the end.
  const early: { id: string; data: { n: number } }[] = [];
  for (let n = 0; n < 5; n++) {
    const data = { n };
    early.push({ id: await sessions.create(`user-${config.id}`, data), data });
  }

  send({ type: 'ready' });
  await new Promise<void>((resolve) =>
    process.on('message', (m: ControllerMessage) => m.type === 'go' && resolve()),
  );
  global.gc?.();
  s.heap.before = process.memoryUsage().heapUsed;
  const started = Date.now();
  const end = started + config.durationMs;
  const deadline = config.operationTimeoutMs;
  const sampler = setInterval(() => {
    s.heap.samples.push([Date.now() - started, process.memoryUsage().heapUsed]);
  }, 1_000);

  const cacheLoop = async (loop: number) => {
    let i = 0;
    while (Date.now() < end) {
      const key = `chaos:${config.id}:${loop}:${i++ % 50}`;
      const t0 = performance.now();
      try {
        if (i % 2) await cache.set(key, String(i), { ttl: 30_000 });
        else await cache.get(key);
        if (cache.activeBackend === 'primary') s.cache.redisOps++;
        else s.cache.fallbackOps++;
      } catch (error) {
        s.cache.failures++;
        note(s.cache.errors, error);
      }
      const ms = performance.now() - t0;
      s.cache.ops++;
      if (ms > s.cache.maxLatencyMs) s.cache.maxLatencyMs = ms;
      if (ms > deadline + DEADLINE_MARGIN_MS) s.cache.overDeadline++;
      // Yield to the event loop now and then, as a real service does between requests.
      if (i % 20 === 0) await sleep(1);
    }
  };

  const lockLoop = async () => {
    while (Date.now() < end) {
      try {
        await locks.withLock(
          config.lock.key,
          async (lock: { fencingToken: number | bigint }) => {
            const enter = performance.timeOrigin + performance.now();
            await sleep(config.lock.holdMs);
            const exit = performance.timeOrigin + performance.now();
            send({
              type: 'lock',
              interval: { worker: config.id, token: Number(lock.fencingToken), enter, exit },
            });
          },
          { ttlMs: config.lock.ttlMs, retry: { attempts: 20, delayMs: 10 } },
        );
        s.lock.held++;
      } catch (error) {
        const c = code(error);
        if (c === 'E_LOCK_UNAVAILABLE') s.lock.unavailable++;
        else if (c === 'E_LOCK_ACQUISITION') s.lock.contended++;
        else if (c === 'E_LOCK_LOST') s.lock.lost++;
        else note(s.lock.errors, error);
        await sleep(20);
      }
      await sleep(5);
    }
  };

  const windows = new Map<string, [string, number, number]>();
  const rateLoop = async () => {
    while (Date.now() < end) {
      try {
        const r = await limiter.consume(config.rateLimit.key);
        if (r.source === 'local') s.rate.localLimit = r.limit;
        if (r.allowed) {
          const k = `${r.source}:${r.resetAt}`;
          const w = windows.get(k) ?? [r.source, r.resetAt, 0];
          w[2]++;
          windows.set(k, w);
        }
      } catch (error) {
        note(s.rate.errors, error);
      }
      await sleep(2);
    }
  };

  const sessionLoop = async () => {
    let n = 0;
    while (Date.now() < end) {
      try {
        const data = { n: n++ };
        const id = await sessions.create(`user-${config.id}`, data);
        const got = await sessions.get(id);
        if (
          got &&
          JSON.stringify((got as { data?: unknown }).data ?? got) !== JSON.stringify(data)
        ) {
          s.session.wrongData++;
        }
        await sessions.destroy(id);
        s.session.ok++;
      } catch (error) {
        if (code(error) === 'E_SESSION_UNAVAILABLE') s.session.unavailable++;
        else note(s.session.errors, error);
        await sleep(20);
      }
      await sleep(10);
    }
  };

  // ---- coherence: reads of the keys another process writes (coherence.ts) ----
  const coherence: CoherenceReads = [];
  const coherenceLoop = async () => {
    for (let i = 0; Date.now() < end; i++) {
      const k = (i * 7 + config.id) % SHARED_KEYS;
      const at = wall();
      try {
        const entry = await cache.getEntry(sharedKey(k));
        const flags = entry === null ? 0 : SOURCE_CODES[entry.source] + (entry.stale ? 4 : 0);
        coherence.push(k, versionOf(entry?.value ?? null), flags, at);
      } catch (error) {
        s.cache.failures++;
        note(s.cache.errors, error);
      }
      if (i % 10 === 9) await sleep(1);
    }
  };
  // ---- end coherence ----

  await Promise.all([
    ...Array.from({ length: config.cacheLoops }, (_, i) => cacheLoop(i)),
    coherenceLoop(),
    lockLoop(),
    rateLoop(),
    sessionLoop(),
  ]);
  clearInterval(sampler);

  // Give a recovered Redis a moment, then check the early sessions.
  for (const { id, data } of early) {
    s.session.checked++;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const got = await sessions.get(id);
        if (
          got &&
          JSON.stringify((got as { data?: unknown }).data ?? got) === JSON.stringify(data)
        ) {
          s.session.intact++;
        }
        break;
      } catch {
        await sleep(100);
      }
    }
  }
  s.rate.windows = [...windows.values()];
  s.coherence = coherence;
  global.gc?.();
  s.heap.after = process.memoryUsage().heapUsed;
  await Promise.allSettled([cache.close(), locks.close(), limiter.close(), sessions.close()]);
  // ---- credential-rotation ----
  if (auth) s.auth = auth.stop();
  // ---- end credential-rotation ----
  // After this the process must exit by itself: a timer or socket left open by a package's
  // close() would keep it alive, and the controller reports that as a broken invariant.
  process.send?.({ type: 'summary', summary: s } satisfies WorkerMessage, () =>
    process.disconnect(),
  );
  // Still alive 5 s later: say what holds the process open (unref'd, so it never holds it itself).
  setTimeout(() => {
    process.stderr.write(`worker ${config.id} still open: ${describeOpenHandles()}\n`);
  }, 5_000).unref();
}

/** The handles keeping this process alive: sockets with their local and remote ports. */
function describeOpenHandles(): string {
  const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
  return handles
    .map((h) => {
      const socket = h as { remoteAddress?: string; remotePort?: number; localPort?: number };
      return socket.remotePort === undefined
        ? h.constructor.name
        : `${h.constructor.name} ${socket.localPort} -> ${socket.remoteAddress}:${socket.remotePort}`;
    })
    .join(', ');
}

main().catch((error) => {
  unhandled.push(`worker failed: ${(error as Error)?.stack ?? error}`);
  send({
    type: 'summary',
    summary: { id: config.id, unhandled } as unknown as WorkerSummary,
  });
});
