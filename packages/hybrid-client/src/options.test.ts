import { isXError, XError, XOptionsError } from '@x/connection';
import { startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST, testLogger } from './_internal/testing.js';
import { isHybridClientError, isWrongTypeError } from './errors.js';
import { createHybridClient, type HybridClient } from './index.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

describe('options', () => {
  it('invalid options throw E_HYBRID_OPTIONS synchronously, naming the field and value', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ timeoutMs: 0 }, 'timeoutMs'],
      [{ probeIntervalMs: '5s' }, 'probeIntervalMs'],
      [{ startupProbeTimeoutMs: -1 }, 'startupProbeTimeoutMs'],
      [{ onRecovery: 'replay-all' }, 'onRecovery'],
      [{ maxJournalKeys: 1.5 }, 'maxJournalKeys'],
      [{ fallback: 'yes' }, 'fallback'],
      [{ fallback: false }, 'fallback'],
      [{ fallback: 'none' }, 'fallback'],
      [{ redis: 42 }, 'redis'],
      [{ logger: { log() {} } }, 'logger'],
      [{ keyPrefix: 1 }, 'keyPrefix'],
      [{ breaker: 'on' }, 'breaker'],
      [{ healthCheckIntervalMs: -1 }, 'healthCheckIntervalMs'],
      [{ local: { maxBytes: 0 } }, 'local.maxBytes'],
    ];
    for (const [options, field] of cases) {
      let thrown: unknown;
      try {
        void createHybridClient(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isHybridClientError(thrown), field).toBe(true);
      expect((thrown as { code: string }).code).toBe('E_HYBRID_OPTIONS');
      expect((thrown as { field: string }).field).toBe(field);
      expect((thrown as Error).message).toMatch(
        new RegExp(`^\\[@x/hybrid-client\\] invalid ${field.replace('.', '\\.')}: `),
      );
      // The shared x error contract: one base class, one brand, a unique code.
      expect(thrown).toBeInstanceOf(XOptionsError);
      expect(isXError(thrown, 'E_HYBRID_OPTIONS')).toBe(true);
    }
  });

  it('an invalid URL throws the config error synchronously', () => {
    expect(() => createHybridClient({ redis: 'http://nope' })).toThrow();
  });

  it('keyPrefix feeds client.keys', async () => {
    const client = await createHybridClient({ keyPrefix: 'app', logger: false });
    cleanup.push(() => client.close());
    expect(client.keys.of('user', 123)).toBe('app:user:123');
    await client.set(client.keys.of('user', 123), 'Ada');
    expect(await client.get('app:user:123')).toBe('Ada');
  });
});

describe('user clients', () => {
  it('a client passed in is never closed, and its listeners are removed on close()', async () => {
    const redis = await startRedis();
    const user = new Redis(redis.url);
    user.on('error', () => {});
    cleanup.push(() => user.disconnect());
    const before = user.listenerCount('ready') + user.listenerCount('close');
    const client = await createHybridClient({ redis: user, ...FAST, logger: false });
    expect(client.activeBackend).toBe('primary');
    await client.close();
    expect(user.status).toBe('ready');
    expect(await user.ping()).toBe('PONG');
    expect(user.listenerCount('ready') + user.listenerCount('close')).toBe(before);
  });

  it('an owned client is closed by close()', async () => {
    const redis = await startRedis();
    const watcher = new Redis(redis.url);
    cleanup.push(() => watcher.disconnect());
    const client = await createHybridClient({ redis: redis.url, ...FAST, logger: false });
    const count = async () =>
      String(await watcher.call('CLIENT', 'LIST'))
        .trim()
        .split('\n').length;
    // The watcher, the client's connection and the near cache's invalidation connection.
    await waitFor('three connections', async () => (await count()) === 3);
    await client.close();
    await waitFor('owned connection gone', async () => (await count()) === 1, { timeoutMs: 2_000 });
  });

  it('Redis-only mode rejects with typed errors while Redis is down, and works again after', async () => {
    const redis = await startRedis();
    const logger = testLogger();
    const client = await createHybridClient({
      redis: redis.url,
      fallback: 'none',
      ...FAST,
      logger,
    });
    cleanup.push(() => client.close());
    await redis.kill();
    await expect(client.get('k')).rejects.toBeInstanceOf(Error);
    expect(client.activeBackend).toBe('primary');
    // Enough failures to open the breaker: calls then fail fast, the open circuit as the cause.
    for (let i = 0; i < 6; i++) await client.get('k').catch(() => {});
    await expect(client.get('k')).rejects.toMatchObject({
      code: 'E_HYBRID_UNAVAILABLE',
      cause: { code: 'E_BREAKER_OPEN' },
    });
    expect(client.stats().redis?.breaker).toBe('open');
    expect(logger.count('primary_unavailable')).toBe(1);
    await redis.restart();
    // The breaker closes as soon as Redis answers, not after its resetTimeout (5 s).
    await waitFor('breaker closed', () => client.stats().redis?.breaker === 'closed', {
      timeoutMs: 3_000,
    });
    expect(logger.count('primary_healthy')).toBe(1);
    await waitFor('redis answers again', async () => (await client.set('k', 'v')) === true, {
      timeoutMs: 5_000,
    });
    expect(await client.get('k')).toBe('v');
  });
});

describe('errors: the shared x contract, unique codes', () => {
  it('closed, argument and wrong-type errors are x errors with their own codes', async () => {
    const client = await createHybridClient({ logger: false });
    await client.set('s', 'v');
    const wrongType = await client.hget('s', 'f').catch((e: unknown) => e);
    expect(isWrongTypeError(wrongType)).toBe(true);
    // The memory store's error carries the shared brand too.
    expect(isXError(wrongType, 'E_LOCAL_CACHE_WRONGTYPE')).toBe(true);
    const argument = await client.get(1 as never).catch((e: unknown) => e);
    expect(isXError(argument, 'E_HYBRID_ARGUMENT')).toBe(true);
    expect(argument).toBeInstanceOf(XError);
    expect(argument).toMatchObject({
      name: 'HybridClientError',
      package: '@x/hybrid-client',
      field: 'key',
    });
    await client.close();
    await client.close(); // idempotent
    const closed = await client.get('s').catch((e: unknown) => e);
    expect(isHybridClientError(closed, 'E_HYBRID_CLOSED')).toBe(true);
    expect((closed as Error).message).toMatch(
      /^\[@x\/hybrid-client\] the client is closed: create a new one/,
    );
    expect(isHybridClientError(wrongType)).toBe(false);
  });
});

describe('getOrSet', () => {
  it('in fallback: single-flight, hit from memory', async () => {
    const redis = await startRedis();
    await redis.kill();
    const client: HybridClient = await createHybridClient({
      redis: redis.url,
      ...FAST,
      logger: testLogger(),
    });
    cleanup.push(() => client.close());
    expect(client.activeBackend).toBe('fallback');
    let loads = 0;
    const loader = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return 'v';
    };
    const all = await Promise.all(Array.from({ length: 20 }, () => client.getOrSet('k', loader)));
    expect(new Set(all)).toEqual(new Set(['v']));
    expect(loads).toBe(1);
    expect(await client.getOrSet('k', loader)).toBe('v');
    expect(loads).toBe(1);
    expect(client.stats().journal.size).toBe(1);
    await expect(client.getOrSet('n', (() => 42) as never)).rejects.toMatchObject({
      code: 'E_HYBRID_ARGUMENT',
    });
  });
});
