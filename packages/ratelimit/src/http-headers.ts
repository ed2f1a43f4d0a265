import { RateLimitOptionsError } from './errors.js';
import type { RateLimitResult } from './types.js';

/**
 * Which rate-limit fields to send (`Retry-After` is sent on a refusal with every choice):
 * - `'legacy'`: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`: the three fields of
 *   the IETF drafts up to -06, what express-rate-limit (`standardHeaders: 'draft-6'`) and
 *   @fastify/rate-limit (`enableDraftSpec`) send, and what most clients read today;
 * - `'draft-8'`: `RateLimit` and `RateLimit-Policy`, the structured fields of
 *   draft-ietf-httpapi-ratelimit-headers from -08 on (the syntax is unchanged up to the latest
 *   draft, -11; express-rate-limit calls it `'draft-8'`);
 * - `'both'`: all of them.
 */
export type RateLimitHeaderFields = 'legacy' | 'draft-8' | 'both';

/** Options of {@link rateLimitHeaders} and {@link setRateLimitHeaders}. */
export interface RateLimitHeaderOptions {
  /**
   * The fields to send; see {@link RateLimitHeaderFields}.
   * @default 'legacy'
   */
  fields?: RateLimitHeaderFields;
  /**
   * The limiter's window in milliseconds, sent as `w` (seconds, rounded up) in `RateLimit-Policy`.
   * `w` is optional in the draft and left out without this option.
   * @default undefined
   */
  windowMs?: number;
  /**
   * The name of the quota policy in `RateLimit` and `RateLimit-Policy` (a structured-field string:
   * 1 to 256 printable ASCII characters).
   * @default 'default'
   */
  policy?: string;
  /**
   * Epoch milliseconds used to turn `resetAt` into seconds from now.
   * @default Date.now()
   */
  now?: number;
}

/**
 * The rate-limit response headers computed by {@link rateLimitHeaders}. Which ones are present
 * depends on {@link RateLimitHeaderOptions.fields}; every name is spelled with the same casing.
 */
export interface RateLimitHeaders {
  /** `'draft-8'`: the quota policy, `"<policy>";q=<limit>;w=<window seconds>`. */
  'RateLimit-Policy'?: string;
  /**
   * `'draft-8'`: the service limit, `"<policy>";r=<remaining>;t=<seconds>`, `t` being the
   * effective window: on a refusal the same value as `Retry-After`, otherwise as
   * `RateLimit-Reset`.
   */
  RateLimit?: string;
  /** `'legacy'`: the limit that applied. */
  'RateLimit-Limit'?: string;
  /** `'legacy'`: `remaining` of the result. */
  'RateLimit-Remaining'?: string;
  /**
   * `'legacy'`: seconds (rounded up) until the quota is whole again (`resetAt`); on a refusal
   * never less than `Retry-After`.
   */
  'RateLimit-Reset'?: string;
  /** On a refused request only: seconds (rounded up, at least 1) before the same request fits. */
  'Retry-After'?: string;
}

/** Anything with Node's `ServerResponse#setHeader` (node:http, Express, Fastify's `raw`...). */
export interface HeaderTarget {
  setHeader(name: string, value: string): unknown;
}

const FIELDS: readonly RateLimitHeaderFields[] = ['legacy', 'draft-8', 'both'];
const POLICY_NAME = /^[\x20-\x7e]{1,256}$/;

/**
 * Builds the rate-limit headers of a decision. They never contradict the decision nor each
 * other:
 * - `Retry-After` (seconds, rounded up, at least 1) is present exactly when the request was
 *   refused, from `retryAfterMs`: the same request is admitted after that wait if nothing else is
 *   charged;
 * - `RateLimit-Reset` (seconds until `resetAt`, rounded up) is never earlier than `Retry-After`
 *   on a refusal, also when the clocks of this host and Redis (which dated `resetAt`) disagree;
 * - `RateLimit`'s effective window `t` is `Retry-After` on a refusal (the draft: `Retry-After` is
 *   not earlier than the end of the effective window) and `RateLimit-Reset` otherwise;
 * - `RateLimit-Remaining` and `RateLimit`'s `r` are `remaining`: `0` on a refused request of cost 1.
 *
 * Throws {@link RateLimitOptionsError} for an invalid option.
 *
 * @example
 * const result = await limiter.consume(`ip:${ip}`);
 * rateLimitHeaders(result, { fields: 'both', windowMs: 60_000 });
 * // { 'RateLimit-Policy': '"default";q=100;w=60', RateLimit: '"default";r=0;t=12',
 * //   'RateLimit-Limit': '100', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '48',
 * //   'Retry-After': '12' }   (a refused request)
 */
export function rateLimitHeaders(
  result: RateLimitResult,
  options: RateLimitHeaderOptions = {},
): RateLimitHeaders {
  const { fields = 'legacy', windowMs, policy = 'default' } = options;
  const now = options.now ?? Date.now();
  if (!FIELDS.includes(fields)) {
    throw new RateLimitOptionsError('fields', fields, FIELDS.join(' | '));
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new RateLimitOptionsError('now', now, 'epoch milliseconds (a finite number)');
  }
  const limit = Math.max(Math.floor(result.limit), 0);
  const remaining = Math.max(Math.floor(result.remaining), 0);
  const retryAfter = result.allowed ? 0 : Math.max(Math.ceil(result.retryAfterMs / 1000), 1);
  let reset = Math.max(Math.ceil((result.resetAt - now) / 1000), 0);
  // resetAt is on the clock that decided (Redis'), now on this host's: a skew must not make the
  // quota look whole before the refused request may be retried.
  if (reset < retryAfter) reset = retryAfter;
  const headers: RateLimitHeaders = {};
  if (fields !== 'legacy') {
    if (typeof policy !== 'string' || !POLICY_NAME.test(policy)) {
      throw new RateLimitOptionsError('policy', policy, '1 to 256 printable ASCII characters');
    }
    const name = `"${policy.replace(/["\\]/g, '\\$&')}"`;
    let quota = `${name};q=${limit}`;
    if (windowMs !== undefined) {
      if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs <= 0) {
        throw new RateLimitOptionsError('windowMs', windowMs, 'a number of milliseconds > 0');
      }
      quota += `;w=${Math.ceil(windowMs / 1000)}`;
    }
    headers['RateLimit-Policy'] = quota;
    headers.RateLimit = `${name};r=${remaining};t=${result.allowed ? reset : retryAfter}`;
  }
  if (fields !== 'draft-8') {
    headers['RateLimit-Limit'] = String(limit);
    headers['RateLimit-Remaining'] = String(remaining);
    headers['RateLimit-Reset'] = String(reset);
  }
  if (!result.allowed) headers['Retry-After'] = String(retryAfter);
  return headers;
}

/**
 * Sets the headers of {@link rateLimitHeaders} on a response (`res.setHeader`), with the same
 * options.
 *
 * @example
 * const result = await limiter.consume(req.ip);
 * setRateLimitHeaders(res, result, { fields: 'both', windowMs: limiter.windowMs });
 * if (!result.allowed) return res.status(429).end();
 */
export function setRateLimitHeaders(
  res: HeaderTarget,
  result: RateLimitResult,
  options?: RateLimitHeaderOptions,
): void {
  const headers = rateLimitHeaders(result, options);
  for (const name in headers) {
    res.setHeader(name, headers[name as keyof RateLimitHeaders]!);
  }
}
