import { isConfigError } from '@x/config';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { loadDemoEnv } from '../src/env';
import { DemoOptionsError, validateOptions } from '../src/options';

describe('loadDemoEnv', () => {
  it('defaults: port 3000 on 127.0.0.1, no Redis', () => {
    const { port, host, options } = loadDemoEnv({});
    expect(port).toBe(3000);
    expect(host).toBe('127.0.0.1');
    expect(options.redis).toBeUndefined();
    expect(options.logger).toEqual({ level: 'info' });
  });

  it('reads PORT, HOST, REDIS_URL (through @x/config) and the DEMO_* knobs', () => {
    const { port, host, options } = loadDemoEnv({
      PORT: '3999',
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://:s3cret@cache.internal:6380/2',
      REDIS_PROBE_INTERVAL: '2s',
      DEMO_PROBE_INTERVAL: '200ms',
      DEMO_SOURCE_DELAY: '1s',
      DEMO_SESSION_FALLBACK: 'memory',
      DEMO_RATE_LIMIT: '100/1m',
      DEMO_LOGIN_RATE_LIMIT: '5 / 30s',
      DEMO_SESSION_SECRET: 'a-session-secret-of-32-characters!!',
      LOG_LEVEL: 'warn',
    });
    expect(port).toBe(3999);
    expect(host).toBe('0.0.0.0');
    expect(options.redis).toMatchObject({ host: 'cache.internal', port: 6380, db: 2 });
    // DEMO_* wins over the config's own probe interval.
    expect(options.probeIntervalMs).toBe(200);
    expect(options.sourceDelayMs).toBe(1_000);
    expect(options.sessionFallback).toBe('memory');
    expect(options.sessionSecret).toBe('a-session-secret-of-32-characters!!');
    expect(options.rateLimits).toEqual({
      api: { limit: 100, windowMs: 60_000 },
      auth: { limit: 5, windowMs: 30_000 },
    });
    expect(options.logger).toEqual({ level: 'warn' });
    // The password never shows when the options are printed.
    expect(JSON.stringify(options)).not.toContain('s3cret');
  });

  it('names the bad variable', () => {
    expect(() => loadDemoEnv({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadDemoEnv({ DEMO_RATE_LIMIT: 'lots' })).toThrow(/DEMO_RATE_LIMIT/);
    expect(() => loadDemoEnv({ DEMO_SESSION_FALLBACK: 'disk' })).toThrow(DemoOptionsError);
    let caught: unknown;
    try {
      loadDemoEnv({ REDIS_URL: 'http://nope' });
    } catch (error) {
      caught = error;
    }
    expect(isConfigError(caught)).toBe(true);
  });
});

describe('validateOptions', () => {
  it('rejects a bad option with its name and value', () => {
    expect(() => validateOptions({ probeIntervalMs: 0 })).toThrow(/probeIntervalMs: 0/);
    expect(() => validateOptions({ rateLimits: { api: { limit: 1.5 } } })).toThrow(
      /rateLimits\.api\.limit/,
    );
    expect(() => validateOptions({ sourceDelayMs: 0, jobDurationMs: 10 })).not.toThrow();
    // A short session secret is refused without showing it.
    expect(() => validateOptions({ sessionSecret: 'too-short-s3cret' })).toThrow(
      /sessionSecret: "<16 characters>" \(expected a string of at least 32 characters\)/,
    );
    expect(() => validateOptions({ sessionSecret: 'x'.repeat(32) })).not.toThrow();
  });
});

describe('buildApp', () => {
  it('rejects invalid options before opening anything', async () => {
    await expect(buildApp({ probeIntervalMs: 0, logger: false })).rejects.toThrow(
      /\[@x\/demo\] invalid option probeIntervalMs/,
    );
    const error = await buildApp({ redis: 'http://not-redis', logger: false }).catch((e) => e);
    expect(isConfigError(error)).toBe(true);
  });
});
