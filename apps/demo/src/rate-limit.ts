import { type RateLimiter, setRateLimitHeaders } from '@x/ratelimit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from './metrics';

/** The rate-limit policies; a route picks one with `config: { rateLimit: 'auth' }`. */
export type PolicyName = 'api' | 'auth' | 'ops';

/** One policy: `limit` requests per `windowMs` per client IP. */
export interface RateLimitPolicy {
  limit: number;
  windowMs: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The rate-limit policy of the route (default `'api'`). */
    rateLimit?: PolicyName;
  }
}

/**
 * Rate limits every request (before routing work starts) with the route's policy, keyed by
 * client IP, and writes the standard headers (`@x/ratelimit`'s `setRateLimitHeaders`:
 * `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, plus `Retry-After` on a 429) and
 * `RateLimit-Policy`.
 */
export function registerRateLimit(
  app: FastifyInstance,
  limiters: Record<PolicyName, RateLimiter>,
  metrics: Metrics,
): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const policy = request.routeOptions.config?.rateLimit ?? 'api';
    const limiter = limiters[policy];
    const result = await limiter.consume(`${policy}:${request.ip}`);
    metrics.rateLimitDecision(policy, result.allowed, result.source);
    // RateLimit-Limit / -Remaining / -Reset, and Retry-After when rejected.
    setRateLimitHeaders(reply.raw, result);
    reply.header('ratelimit-policy', `${limiter.limit};w=${Math.ceil(limiter.windowMs / 1000)}`);
    // Not standard: where the decision was made (`redis`, or `local` while Redis is away).
    reply.header('x-ratelimit-source', result.source);
    if (!result.allowed) {
      const retryAfterS = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      return reply.code(429).send({
        error: 'rate_limited',
        message: `Too many requests: limit ${result.limit} per ${limiter.windowMs / 1000} s. Retry in ${retryAfterS} s.`,
        retryAfterMs: result.retryAfterMs,
        source: result.source,
      });
    }
    return undefined;
  });
}
