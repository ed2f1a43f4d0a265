import type { RateLimitResult } from './types.js';

/** The standard rate-limit response headers, as computed by {@link rateLimitHeaders}. */
export interface RateLimitHeaders {
  /** The limit that applied. */
  'RateLimit-Limit': string;
  /** Requests left now. */
  'RateLimit-Remaining': string;
  /** Seconds (rounded up) until the quota is fully available again. */
  'RateLimit-Reset': string;
  /** Seconds (rounded up, at least 1) to wait before retrying; only on a rejected request. */
  'Retry-After'?: string;
}

/** Anything with Node's `ServerResponse#setHeader` (node:http, Express, Fastify's `raw`...). */
export interface HeaderTarget {
  setHeader(name: string, value: string): unknown;
}

/**
 * Builds the `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` headers (IETF
 * RateLimit header fields, delta-seconds) and, when the request was rejected, `Retry-After`.
 *
 * @param now epoch ms used to turn `resetAt` into seconds
 * @default now Date.now()
 */
export function rateLimitHeaders(
  result: RateLimitResult,
  now: number = Date.now(),
): RateLimitHeaders {
  const headers: RateLimitHeaders = {
    'RateLimit-Limit': String(result.limit),
    'RateLimit-Remaining': String(Math.max(result.remaining, 0)),
    'RateLimit-Reset': String(Math.max(Math.ceil((result.resetAt - now) / 1000), 0)),
  };
  if (!result.allowed) {
    headers['Retry-After'] = String(Math.max(Math.ceil(result.retryAfterMs / 1000), 1));
  }
  return headers;
}

/**
 * Sets the headers of {@link rateLimitHeaders} on a response (`res.setHeader`).
 *
 * @example
 * const result = await limiter.consume(req.ip);
 * setRateLimitHeaders(res, result);
 * if (!result.allowed) return res.status(429).end();
 */
export function setRateLimitHeaders(
  res: HeaderTarget,
  result: RateLimitResult,
  now: number = Date.now(),
): void {
  const headers = rateLimitHeaders(result, now);
  res.setHeader('RateLimit-Limit', headers['RateLimit-Limit']);
  res.setHeader('RateLimit-Remaining', headers['RateLimit-Remaining']);
  res.setHeader('RateLimit-Reset', headers['RateLimit-Reset']);
  if (headers['Retry-After'] !== undefined) res.setHeader('Retry-After', headers['Retry-After']);
}
