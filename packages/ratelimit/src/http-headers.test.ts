import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, setRateLimitHeaders } from './http-headers.js';
import type { RateLimitResult } from './types.js';

const now = 1_700_000_000_000;

describe('rate-limit headers', () => {
  it('reports limit, remaining and reset (delta seconds, rounded up) on an admitted request', () => {
    const result: RateLimitResult = {
      allowed: true,
      limit: 10,
      remaining: 7,
      resetAt: now + 1_200,
      retryAfterMs: 0,
      source: 'redis',
    };
    expect(rateLimitHeaders(result, now)).toEqual({
      'RateLimit-Limit': '10',
      'RateLimit-Remaining': '7',
      'RateLimit-Reset': '2',
    });
  });

  it('adds Retry-After (at least 1 s) on a rejected request', () => {
    const result: RateLimitResult = {
      allowed: false,
      limit: 5,
      remaining: 0,
      resetAt: now - 10,
      retryAfterMs: 20,
      source: 'local',
    };
    const set: [string, string][] = [];
    setRateLimitHeaders(
      { setHeader: (name: string, value: string) => set.push([name, value]) },
      result,
      now,
    );
    expect(set).toEqual([
      ['RateLimit-Limit', '5'],
      ['RateLimit-Remaining', '0'],
      ['RateLimit-Reset', '0'],
      ['Retry-After', '1'],
    ]);
    expect(rateLimitHeaders({ ...result, retryAfterMs: 61_001 }, now)['Retry-After']).toBe('62');
  });
});
