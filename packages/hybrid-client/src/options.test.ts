import { startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST, testLogger } from './_internal/testing.js';
import { isHybridClientError } from './errors.js';
import { createHybridClient, type HybridClient } from './hybrid-client.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

describe('options', () => {
  it('invalid options throw E_OPTIONS synchronously, naming the field and value', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ operationTimeoutMs: 0 }, 'operationTimeoutMs'],
      [{ probeIntervalMs: '5s' }, 'probeIntervalMs'],
      [{ startupProbeTimeoutMs: -1 }, 'startupProbeTimeoutMs'],
      [{ onRecovery: 'replay-all' }, 'onRecovery'],
      [{ journalMaxKeys: 1.5 }, 'journalMaxKeys'],
      [{ failover: 'yes' }, 'failover'],
      [{ failover: false }, 'failover'],
      [{ redis: 42 }, 'redis'],
      [{ logger: { log() {} } }, 'logger'],
      [{ keyPrefix: 1 }, 'keyPrefix'],
      [{ breaker: 'on' }, 'breaker'],
    ];
    for (const [options, field] of cases) {
      let thrown: unknown;
      try {
        void createHybridClient(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isHybridClientError(thrown), field).toBe(true);
      expect((thrown as { code: string }).code).toBe('E_OPTIONS');
      expect((thrown as { field: string }).field).toBe(field);
      expect((thrown as Error).message).toMatch(
        new RegExp(`^\\[@x/hybrid-client\\] option ${field}`),
      );
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
    await waitFor('two connections', async () => (await count()) === 2);
    await client.close();
    await waitFor('owned connection gone', async () => (await count()) === 1, { timeoutMs: 2_000 });
  });

  it('Redis-only mode rejects with typed errors while Redis is down, and works again after', async () => {
    const redis = await startRedis();
    const logger = testLogger();
    const client = await createHybridClient({ redis: redis.url, failover: false, ...FAST, logger });
    cleanup.push(() => client.close());
    await redis.kill();
    await expect(client.get('k')).rejects.toBeInstanceOf(Error);
    expect(client.activeBackend).toBe('primary');
    // Enough failures to open the breaker: calls then fail fast with E_BREAKER_OPEN.
    for (let i = 0; i < 6; i++) await client.get('k').catch(() => {});
    await expect(client.get('k')).rejects.toMatchObject({ code: 'E_BREAKER_OPEN' });
    expect(client.stats().breaker).toBe('open');
    expect(logger.count('primary_unavailable')).toBe(1);
    await redis.restart();
    // The breaker closes as soon as Redis answers, not after its 30 s resetTimeout.
    await waitFor('breaker closed', () => client.stats().breaker === 'closed', {
      timeoutMs: 3_000,
    });
    expect(logger.count('primary_healthy')).toBe(1);
    await waitFor('redis answers again', async () => (await client.set('k', 'v')) === true, {
      timeoutMs: 5_000,
    });
    expect(await client.get('k')).toBe('v');
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
      code: 'E_ARGUMENT',
    });
  });
});
