import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySession from '@fastify/session';
import { createRedisClient, type RedisClient, redactConfig, toConfig } from '@x/config';
import { createHealthChecker, type HealthChecker } from '@x/health';
import { createHybridClient, type HybridClient } from '@x/hybrid-client';
import { createLockManager } from '@x/lock';
import { createPubSub, type PubSub } from '@x/pubsub';
import type { RateLimiter } from '@x/ratelimit';
import { createSessionStore, type SessionStore } from '@x/session';
import { createExpressSessionStore } from '@x/session/express';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { type Diagnosis, toDiagnosis } from './diagnosis';
import { notFound, registerErrorHandler } from './errors';
import { createEventBus, type EventBus, type WireEvent } from './events';
import { createItemStats, type ItemStats } from './item-stats';
import { createLocalLocks, type JobLocks } from './local-locks';
import { createOfflineRedis, type OfflineRedis } from './offline';
import { type DemoOptions, type PolicyName, validateOptions } from './options';
import { createPolicyLimiters, rateLimitOptions } from './rate-limits';
import { registerAccountRoutes, registerLoginRoute } from './routes/auth';
import { registerEventRoutes } from './routes/events';
import { registerHealthRoutes } from './routes/health';
import { registerItemRoutes } from './routes/items';
import { registerJobRoutes } from './routes/jobs';
import { registerMetricsRoute } from './routes/metrics';
import { registerStatusRoutes } from './routes/status';
import { sessionPluginOptions } from './sessions';
import { createSlowSource, type SlowSource } from './source';
import { createLatencyHistory, type Modes } from './status';
import { createTelemetry, type Telemetry } from './telemetry';

/** The built demo: the Fastify instance (not listening yet) and its parts. */
export interface DemoApp {
  readonly app: FastifyInstance;
  /** `'primary'` (Redis) or `'fallback'` (memory). */
  readonly activeBackend: 'primary' | 'fallback';
  readonly cache: HybridClient;
  readonly events: EventBus;
  /** The demo's OpenTelemetry metrics (`/metrics`). */
  readonly telemetry: Telemetry;
  /** What `GET /items/:id` answered so far. */
  readonly items: ItemStats;
  readonly source: SlowSource;
  /** The rate limiters by policy (keys are the client IP, under `x-demo:rl:<policy>:`). */
  readonly rateLimiters: Readonly<Record<PolicyName, RateLimiter>>;
  /** Closes the HTTP server and every x component, then the Redis connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the demo: every x package composed behind one Fastify instance. Resolves once the
 * cache's start-up probe has decided (within `startupProbeTimeoutMs`); never rejects because
 * Redis is unreachable.
 * @throws DemoOptionsError / ConfigError for invalid options.
 */
export async function buildApp(options: DemoOptions = {}): Promise<DemoApp> {
  validateOptions(options);
  // What to undo if a later step throws, so a failed build leaves no connection or timer behind.
  const undo: Array<() => unknown> = [];
  try {
    return await compose(options, undo);
  } catch (error) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch {
        // keep undoing the rest
      }
    }
    throw error;
  }
}

async function compose(options: DemoOptions, undo: Array<() => unknown>): Promise<DemoApp> {
  const redisConfig = options.redis === undefined ? undefined : toConfig(options.redis);
  const probeIntervalMs = options.probeIntervalMs ?? redisConfig?.probeIntervalMs ?? 5_000;
  const startupProbeTimeoutMs =
    options.startupProbeTimeoutMs ?? redisConfig?.startupProbeTimeoutMs ?? 1_000;
  const operationTimeoutMs = options.operationTimeoutMs ?? 250;
  const healthIntervalMs = options.healthIntervalMs ?? 1_000;
  const healthTimeoutMs = options.healthTimeoutMs ?? 500;
  const sessionTtlMs = options.sessionTtlMs ?? 86_400_000;
  const sessionFallback = options.sessionFallback ?? (redisConfig ? 'none' : 'memory');
  // Breakers in front of Redis re-probe about as often as the cache does.
  const breaker = { maxFailures: 3, resetTimeout: probeIntervalMs };

  const app = Fastify({
    logger: options.logger ?? { level: 'info' },
    // The status page polls twice a second: one log line per request would drown the rest.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const log = app.log;
  const startedAt = Date.now();

  // Metrics first: @x/otel follows every x instance created from now on.
  const items = createItemStats();
  const telemetry = createTelemetry(items);
  undo.push(() => telemetry.close());

  // One connection shared by every package (each never closes a client it did not create);
  // @x/pubsub duplicates it for its subscriber connection.
  let redis: RedisClient | undefined;
  let offline: OfflineRedis | undefined;
  let redisUrl: string | undefined;
  if (redisConfig) {
    const client = createRedisClient(redisConfig);
    redis = client;
    undo.push(() => client.disconnect());
    const shown = redactConfig(redisConfig);
    redisUrl =
      shown.mode === 'standalone'
        ? `redis://${shown.host}:${shown.port}/${shown.db}`
        : `${shown.mode} (${shown.mode === 'cluster' ? shown.clusterNodes.length : shown.sentinels.length} nodes)`;
  } else {
    const never = createOfflineRedis();
    offline = never;
    undo.push(() => never.close());
    log.warn(
      { reason: 'no_redis' },
      'REDIS_URL is not set: running on memory only. Cache and rate limits in memory, sessions in ' +
        'memory (explicit fallback), locks single-instance (this process only), events in-process.',
    );
  }

  // Cache: memory-only without Redis (the package's own mode), hybrid with it. Without Redis the
  // demo already said so above, so the cache's own start-up warning is not repeated.
  const cache = await createHybridClient({
    ...(redis ? { redis } : {}),
    probeIntervalMs,
    startupProbeTimeoutMs,
    timeoutMs: operationTimeoutMs,
    onRecovery: 'invalidate',
    breaker,
    logger: log,
  });
  undo.push(() => cache.close());

  const pubsub: PubSub<WireEvent> | undefined = redis
    ? createPubSub<WireEvent>({
        redis,
        // Events of this process still reach its own SSE clients while Redis is down.
        fallback: 'local',
        timeoutMs: operationTimeoutMs * 2,
        pingIntervalMs: healthIntervalMs,
        pingTimeoutMs: healthTimeoutMs,
        reconnect: { minDelayMs: 50, maxDelayMs: Math.min(1_000, probeIntervalMs), jitter: 'full' },
        breaker,
        logger: log,
      })
    : undefined;
  pubsub?.on('error', (error) => log.debug({ err: error }, 'pub/sub background error'));
  undo.push(() => pubsub?.close());
  const events = createEventBus({ pubsub, logger: log });
  undo.push(() => events.close());

  const limiters = createPolicyLimiters({
    redis: redis ?? offline!.client,
    breaker: redis ? breaker : offline!.breaker,
    timeoutMs: operationTimeoutMs,
    // Without Redis the demo already said so above: the limiter's "deciding locally" is not repeated.
    logger: redis ? log : false,
    rateLimits: options.rateLimits,
    onSourceChange: (policy, from, to) => {
      if (redis) events.emit('ratelimit.source', { policy, from, to });
    },
  });
  for (const limiter of Object.values(limiters)) undo.push(() => limiter.close());

  const sessions: SessionStore = createSessionStore({
    redis: redis ?? offline!.client,
    ttlMs: sessionTtlMs,
    keyPrefix: 'x-demo:sess:',
    timeoutMs: operationTimeoutMs * 2,
    breaker: redis ? breaker : offline!.breaker,
    fallback: sessionFallback,
    logger: redis ? log : false,
  });
  undo.push(() => sessions.close());
  // The adapter @fastify/session stores its sessions through (express-session's Store interface).
  const sessionStore = createExpressSessionStore({ store: sessions });
  if (redis && sessionFallback === 'memory') {
    log.warn(
      { reason: 'session_memory_fallback' },
      'sessions fall back to memory while Redis is unavailable (opt-in): such sessions are local to this process',
    );
  }

  const lockTtlMs = options.lockTtlMs ?? 10_000;
  let locks: JobLocks;
  if (redis) {
    const manager = createLockManager({
      redis,
      keyPrefix: 'x-demo:lock:',
      ttlMs: lockTtlMs,
      timeoutMs: operationTimeoutMs,
      breaker,
      logger: log,
    });
    undo.push(() => manager.close());
    locks = {
      mode: 'redis',
      // One try: a job already running is a 409, not a wait.
      withLock: (key, fn) =>
        manager.withLock(key, fn, { retry: { attempts: 0 }, ttlMs: lockTtlMs }),
      close: () => manager.close(),
    };
  } else {
    locks = createLocalLocks();
  }

  const history = createLatencyHistory(60);
  let health: HealthChecker | undefined;
  if (redis) {
    health = createHealthChecker({
      client: redis,
      intervalMs: healthIntervalMs,
      timeoutMs: healthTimeoutMs,
      failureThreshold: options.healthFailureThreshold ?? 2,
      recoveryThreshold: 1,
    });
    const checker = health;
    undo.push(() => checker.stop());
    health.on('check', (result) => {
      history.push({ at: Date.now(), latencyMs: result.healthy ? result.latencyMs : null });
    });
    health.on('change', ({ from, to }) => {
      events.emit('redis.health', { from, to });
      log.info({ from, to }, `Redis health: ${to}`);
    });
    health.on('error', (error) => log.warn({ err: error }, 'health listener failed'));
  }

  cache.on('failover', (event) => {
    events.emit('failover', { reason: event.reason, cause: event.cause, backend: 'fallback' });
  });
  cache.on('recover', (event) => {
    events.emit('recover', {
      reason: event.reason,
      backend: 'primary',
      outageMs: Math.round(event.outageMs),
      reconciledKeys: event.reconciledKeys,
    });
  });

  const modes = (): Modes => ({
    cache: redis ? 'Redis, memory while Redis is down' : 'memory only (no Redis)',
    sessions: !redis
      ? 'memory (explicit fallback, no Redis)'
      : sessionFallback === 'memory'
        ? 'Redis, memory while Redis is down (opt-in)'
        : 'Redis (fail closed: 503 while Redis is down)',
    locks:
      locks.mode === 'redis'
        ? 'Redis (@x/lock; 503 while Redis is down)'
        : 'single-instance (in-process, no Redis)',
    rateLimit: redis
      ? `Redis, local while Redis is down (now: ${limiters.api.source})`
      : 'local (no Redis)',
    events: redis ? 'Redis pub/sub (local delivery while Redis is down)' : 'in-process (no Redis)',
  });

  const source = createSlowSource(options.sourceDelayMs ?? 300);

  // What is wrong with Redis, in the connection's words (every package shares the one client,
  // so the cache's connection sees what the others see).
  const diagnosis = (): Diagnosis | null =>
    redis ? toDiagnosis(cache.stats().redis?.problem ?? limiters.api.stats().redis.problem) : null;

  undo.push(() => app.close());
  await app.register(fastifyCookie);
  registerErrorHandler(app, diagnosis);
  // Rate limits by @fastify/rate-limit with the @x/ratelimit/fastify store: one registration per
  // policy, each in its own encapsulated scope (one store enforces one limit). This one, at the
  // root with `global: false`, only gives `app.rateLimit()` to the 404 handler (policy api).
  await app.register(fastifyRateLimit, rateLimitOptions('api', limiters.api, { global: false }));
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, notFound);

  // ops: the status page, its polling and event stream, health probes, metrics.
  await app.register(async (ops) => {
    await ops.register(fastifyRateLimit, rateLimitOptions('ops', limiters.ops));
    registerEventRoutes(ops, events);
    registerHealthRoutes(ops, health, () =>
      redis ? (cache.stats().redis?.problem ?? limiters.api.stats().redis.problem) : null,
    );
    registerMetricsRoute(ops, telemetry);
    registerStatusRoutes(ops, {
      startedAt,
      redisUrl,
      cache,
      limiters: Object.values(limiters),
      health,
      history,
      items,
      diagnosis,
      modes,
      events,
    });
  });

  // api: items and the job.
  await app.register(async (api) => {
    await api.register(fastifyRateLimit, rateLimitOptions('api', limiters.api));
    registerItemRoutes(api, {
      cache,
      source,
      stats: items,
      itemTtlMs: options.itemTtlMs ?? 60_000,
    });
    registerJobRoutes(api, { locks, events, jobDurationMs: options.jobDurationMs ?? 2_000 });
  });

  // Sessions by @fastify/session with the @x/session/express store, only in this scope: the
  // other routes never read a session, so a Redis outage (sessions fail closed) touches only
  // the routes that need one. /login has the strict auth policy, the rest the api policy.
  const authDeps = {
    store: sessionStore,
    events,
    demoPassword: options.demoPassword ?? 'demo',
  };
  await app.register(async (auth) => {
    await auth.register(
      fastifySession,
      sessionPluginOptions({
        store: sessionStore,
        secret: options.sessionSecret,
        ttlMs: sessionTtlMs,
        secureCookie: options.secureCookie ?? false,
      }),
    );
    await auth.register(async (login) => {
      await login.register(fastifyRateLimit, rateLimitOptions('auth', limiters.auth));
      registerLoginRoute(login, authDeps);
    });
    await auth.register(async (account) => {
      await account.register(fastifyRateLimit, rateLimitOptions('api', limiters.api));
      registerAccountRoutes(account, authDeps);
    });
  });
  await app.ready();

  // Subscribed before the first request, so this process sees its own first events. (Redis down
  // at start-up was already reported once by the cache: no second warning for the same outage.)
  if (cache.activeBackend === 'primary' && !(await events.ready(startupProbeTimeoutMs))) {
    log.info({}, 'event subscription not confirmed yet: live events start once Redis answers');
  }
  events.emit('started', { backend: cache.activeBackend, redis: redisUrl ?? null });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await app.close();
      health?.stop();
      events.close();
      await Promise.allSettled([
        pubsub?.close(),
        ...Object.values(limiters).map((limiter) => limiter.close()),
        sessions.close(),
        locks.close(),
        cache.close(),
      ]);
      offline?.close();
      if (redis) await quit(redis);
      await telemetry.close();
    })();
    return closing;
  };

  return {
    app,
    get activeBackend() {
      return cache.activeBackend;
    },
    cache,
    events,
    telemetry,
    items,
    source,
    rateLimiters: limiters,
    close,
  };
}

/** QUIT when connected (bounded), else drop the connection. */
async function quit(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await Promise.race([
        redis.quit(),
        new Promise((resolve) => setTimeout(resolve, 500).unref()),
      ]);
    } catch {
      // fall through to disconnect
    }
  }
  redis.disconnect();
}
