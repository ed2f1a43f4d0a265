import type { errorResponseBuilderContext, FastifyRateLimitOptions } from '@fastify/rate-limit';
import type { Breaker, BreakerOptions } from '@x/breaker';
import type { RedisClient } from '@x/config';
import { createRateLimiter, type RateLimiter } from '@x/ratelimit';
import { createFastifyRateLimitStore } from '@x/ratelimit/fastify';
import type { FastifyRequest } from 'fastify';
import type { Logger } from './logger';
import { DEFAULT_RATE_LIMITS, type DemoOptions, type PolicyName } from './options';

/** The algorithm of each policy. */
const ALGORITHMS: Record<PolicyName, 'sliding-window' | 'fixed-window'> = {
  api: 'sliding-window',
  auth: 'sliding-window',
  ops: 'fixed-window',
};

/** What the limiters of the policies need. */
export interface PolicyLimitersOptions {
  /** The shared client, or the never-connected one when the demo runs without Redis. */
  redis: RedisClient;
  /** The breaker in front of Redis (options), or the isolated one without Redis. */
  breaker: BreakerOptions | Breaker;
  timeoutMs: number;
  /** Where the limiters log; `false` without Redis (the demo already said it runs on memory). */
  logger: Logger | false;
  rateLimits: DemoOptions['rateLimits'];
  /** Called when a limiter's decisions move to the local fallback and back. */
  onSourceChange(policy: PolicyName, from: string, to: string): void;
}

/**
 * One `@x/ratelimit` limiter per policy (keys `x-demo:rl:<policy>:<client ip>`), each deciding
 * locally while Redis is unavailable (`fallback: 'local'`) and going back to Redis by itself.
 */
export function createPolicyLimiters(
  options: PolicyLimitersOptions,
): Record<PolicyName, RateLimiter> {
  const limiters = {} as Record<PolicyName, RateLimiter>;
  try {
    for (const name of ['api', 'auth', 'ops'] as const) {
      const policy = { ...DEFAULT_RATE_LIMITS[name], ...options.rateLimits?.[name] };
      limiters[name] = createRateLimiter({
        redis: options.redis,
        algorithm: ALGORITHMS[name],
        limit: policy.limit,
        windowMs: policy.windowMs,
        keyPrefix: `x-demo:rl:${name}:`,
        fallback: 'local',
        timeoutMs: options.timeoutMs,
        breaker: options.breaker,
        logger: options.logger,
        onSourceChange: ({ from, to }) => options.onSourceChange(name, from, to),
      });
    }
  } catch (error) {
    for (const limiter of Object.values(limiters)) void limiter.close();
    throw error;
  }
  return limiters;
}

/** The 429 answer: thrown by @fastify/rate-limit, shaped by the demo's error handler. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  readonly code = 'E_DEMO_RATE_LIMITED';
  readonly statusCode = 429;
  constructor(
    readonly policy: PolicyName,
    readonly retryAfterMs: number,
    /** Where the limiter decides now: `redis`, or `local` while Redis is unavailable. */
    readonly source: string,
    limit: number,
    windowMs: number,
  ) {
    super(
      `[@x/demo] too many requests: limit ${limit} per ${windowMs / 1000} s (policy ${policy}); retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`,
    );
  }
}

/**
 * The options of `@fastify/rate-limit` for one policy: the `@x/ratelimit/fastify` store on the
 * policy's limiter, with the same `max` and `timeWindow` (the store checks it), and the
 * framework's standard headers (`enableDraftSpec`: `ratelimit-limit`, `ratelimit-remaining`,
 * `ratelimit-reset`, and `retry-after` on a 429). Register it once per encapsulated scope: one
 * store enforces one limit.
 */
export function rateLimitOptions(
  policy: PolicyName,
  limiter: RateLimiter,
  overrides: Partial<FastifyRateLimitOptions> = {},
): FastifyRateLimitOptions {
  return {
    store: createFastifyRateLimitStore({ limiter }),
    max: limiter.limit,
    timeWindow: limiter.windowMs,
    enableDraftSpec: true,
    errorResponseBuilder: (_request: FastifyRequest, context: errorResponseBuilderContext) =>
      new RateLimitedError(policy, context.ttl, limiter.source, limiter.limit, limiter.windowMs),
    ...overrides,
  };
}
