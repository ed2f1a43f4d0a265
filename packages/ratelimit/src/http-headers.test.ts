import { describe, expect, it } from 'vitest';
import { isRateLimitOptionsError } from './errors.js';
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
    expect(rateLimitHeaders(result, { now })).toEqual({
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
      { now },
    );
    // resetAt already past (the decision was dated by another clock) with a retry still ahead:
    // RateLimit-Reset is raised to Retry-After rather than saying the quota is whole now.
    expect(set).toEqual([
      ['RateLimit-Limit', '5'],
      ['RateLimit-Remaining', '0'],
      ['RateLimit-Reset', '1'],
      ['Retry-After', '1'],
    ]);
    expect(rateLimitHeaders({ ...result, retryAfterMs: 61_001 }, { now })['Retry-After']).toBe(
      '62',
    );
  });

  it('never sends a RateLimit-Reset earlier than Retry-After (issue 17: 3.8 s vs 5.8 s)', () => {
    // The sliding window used to refuse with resetAt 3.8 s away and retryAfterMs 5.8 s: a client
    // trusting RateLimit-Reset: 4 came back 2 s early and got another 429.
    const refused: RateLimitResult = {
      allowed: false,
      limit: 10,
      remaining: 0,
      resetAt: now + 3_800,
      retryAfterMs: 5_800,
      source: 'redis',
    };
    const headers = rateLimitHeaders(refused, { fields: 'both', windowMs: 10_000, now });
    expect(headers['Retry-After']).toBe('6');
    expect(headers['RateLimit-Reset']).toBe('6');
    expect(headers.RateLimit).toBe('"default";r=0;t=6');
  });

  it("sends the draft's RateLimit and RateLimit-Policy fields", () => {
    const admitted: RateLimitResult = {
      allowed: true,
      limit: 100,
      remaining: 41,
      resetAt: now + 30_001,
      retryAfterMs: 0,
      source: 'redis',
    };
    expect(rateLimitHeaders(admitted, { fields: 'draft-8', windowMs: 60_000, now })).toEqual({
      'RateLimit-Policy': '"default";q=100;w=60',
      RateLimit: '"default";r=41;t=31',
    });
    // w is optional in the draft: left out without windowMs; sub-second windows round up to 1.
    expect(rateLimitHeaders(admitted, { fields: 'draft-8', now })['RateLimit-Policy']).toBe(
      '"default";q=100',
    );
    expect(
      rateLimitHeaders(admitted, { fields: 'draft-8', windowMs: 250, now })['RateLimit-Policy'],
    ).toBe('"default";q=100;w=1');
    // The policy name is a structured-field string: quotes and backslashes escaped.
    expect(rateLimitHeaders(admitted, { fields: 'draft-8', policy: 'a"b\\c', now }).RateLimit).toBe(
      '"a\\"b\\\\c";r=41;t=31',
    );
  });

  it('sends every field with one casing, and Retry-After only when refused', () => {
    const refused: RateLimitResult = {
      allowed: false,
      limit: 5,
      remaining: 2,
      resetAt: now + 9_000,
      retryAfterMs: 3_500,
      source: 'local',
    };
    const set: [string, string][] = [];
    setRateLimitHeaders(
      { setHeader: (name: string, value: string) => set.push([name, value]) },
      refused,
      {
        fields: 'both',
        windowMs: 10_000,
        policy: 'api',
        now,
      },
    );
    expect(set).toEqual([
      ['RateLimit-Policy', '"api";q=5;w=10'],
      ['RateLimit', '"api";r=2;t=4'],
      ['RateLimit-Limit', '5'],
      ['RateLimit-Remaining', '2'],
      ['RateLimit-Reset', '9'],
      ['Retry-After', '4'],
    ]);
    const admitted = rateLimitHeaders(
      { ...refused, allowed: true, retryAfterMs: 0 },
      {
        fields: 'both',
        now,
      },
    );
    expect(admitted['Retry-After']).toBeUndefined();
    expect(admitted.RateLimit).toBe('"default";r=2;t=9');
  });

  it('rejects invalid options naming the field', () => {
    const result: RateLimitResult = {
      allowed: true,
      limit: 5,
      remaining: 4,
      resetAt: now,
      retryAfterMs: 0,
      source: 'redis',
    };
    const cases: [Parameters<typeof rateLimitHeaders>[1], string][] = [
      [{ fields: 'draft-7' as never }, 'fields'],
      [{ now: Number.NaN }, 'now'],
      [{ fields: 'both', policy: '' }, 'policy'],
      [{ fields: 'draft-8', policy: 'caf\u00e9' }, 'policy'],
      [{ fields: 'draft-8', windowMs: 0 }, 'windowMs'],
    ];
    for (const [options, field] of cases) {
      let caught: unknown;
      try {
        rateLimitHeaders(result, options);
      } catch (error) {
        caught = error;
      }
      expect(isRateLimitOptionsError(caught), field).toBe(true);
      expect((caught as { field: string }).field).toBe(field);
    }
  });
});
