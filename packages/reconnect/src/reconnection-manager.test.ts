import { startRedis, waitFor } from '@x/testkit';
import Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectOptionsError } from './errors.js';
import {
  createReconnectionManager,
  type ReconnectionEvents,
  type ReconnectionManager,
} from './reconnection-manager.js';

type Seen = {
  [E in keyof ReconnectionEvents]: [E, ReconnectionEvents[E]];
}[keyof ReconnectionEvents];

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function connect(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
  });
  cleanup.push(() => client.disconnect());
  return client;
}

function record(manager: ReconnectionManager): Seen[] {
  const seen: Seen[] = [];
  manager.on('attempt', (p) => seen.push(['attempt', p]));
  manager.on('connected', (p) => seen.push(['connected', p]));
  manager.on('disconnected', (p) => seen.push(['disconnected', p]));
  manager.on('gave-up', (p) => seen.push(['gave-up', p]));
  return seen;
}

describe('createReconnectionManager (real redis-server)', () => {
  it('sees disconnected -> attempt(s) -> connected across a kill and restart', async () => {
    const server = await startRedis();
    const client = connect(server.url);
    const manager = createReconnectionManager(client, {
      backoff: { jitter: 'full', minDelayMs: 20, maxDelayMs: 100 },
      stableAfterMs: 150,
      installRetryStrategy: true,
    });
    cleanup.push(() => manager.close());
    const seen = record(manager);
    await client.connect();
    await waitFor('connected', () => manager.state === 'connected');
    expect(seen).toEqual([['connected', { attempts: 0, downtimeMs: undefined }]]);
    const firstSince = manager.stats().connectedSince!;
    expect(firstSince).toBeGreaterThan(0);

    await server.kill();
    await waitFor('two attempts', () => manager.stats().attempts >= 2, { timeoutMs: 3_000 });
    expect(manager.state).toBe('disconnected');
    expect(manager.stats().connectedSince).toBeUndefined();
    await server.restart();
    await waitFor('reconnected', () => manager.state === 'connected', { timeoutMs: 3_000 });
    expect(await client.ping()).toBe('PONG');

    const kinds = seen.map(([kind]) => kind);
    expect(kinds[0]).toBe('connected');
    expect(kinds[1]).toBe('disconnected');
    expect(kinds.at(-1)).toBe('connected');
    const attempts = seen.filter((s) => s[0] === 'attempt').map((s) => s[1]);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(kinds.slice(2, -1).every((k) => k === 'attempt')).toBe(true);
    attempts.forEach((a, i) => {
      expect(a.attempt).toBe(i + 1);
      expect(a.delayMs).toBeGreaterThanOrEqual(20);
      expect(a.delayMs).toBeLessThanOrEqual(100);
    });
    const reconnected = seen.at(-1)![1] as ReconnectionEvents['connected'];
    expect(reconnected.attempts).toBe(attempts.length);
    expect(reconnected.downtimeMs).toBeGreaterThan(0);

    const stats = manager.stats();
    expect(stats).toMatchObject({ connects: 2, disconnects: 1, totalAttempts: attempts.length });
    expect(stats.lastError?.message).toMatch(/ECONNREFUSED|ECONNRESET|closed/);
    expect(stats.errors).toBeGreaterThan(0);
    // the counter starts over only once the link stayed up for stableAfterMs
    expect(stats.attempts).toBe(attempts.length);
    await waitFor('stable reset', () => manager.stats().attempts === 0, { timeoutMs: 1_000 });
    expect(manager.stats().totalAttempts).toBe(attempts.length);
  });

  it('keeps counting attempts when the link flaps before it is stable', async () => {
    const server = await startRedis();
    const client = connect(server.url);
    const manager = createReconnectionManager(client, {
      backoff: { jitter: 'none', minDelayMs: 20, maxDelayMs: 60 },
      stableAfterMs: 60_000,
      installRetryStrategy: true,
    });
    cleanup.push(() => manager.close());
    const seen = record(manager);
    await client.connect();
    await server.kill();
    await waitFor('attempt', () => manager.stats().attempts >= 1, { timeoutMs: 3_000 });
    await server.restart();
    await waitFor('up', () => manager.state === 'connected', { timeoutMs: 3_000 });
    const afterFirst = manager.stats().attempts;
    await server.kill();
    await waitFor('more attempts', () => manager.stats().attempts > afterFirst, {
      timeoutMs: 3_000,
    });
    const numbers = seen.filter((s) => s[0] === 'attempt').map((s) => s[1].attempt);
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    // the second outage continues the sequence: ioredis' own `times` would have restarted at 1
    const delays = seen.filter((s) => s[0] === 'attempt').map((s) => s[1].delayMs);
    expect(delays.slice(0, 3)).toEqual([20, 40, 60].slice(0, Math.min(3, delays.length)));
    expect(manager.stats().disconnects).toBe(2);
  });

  it('emits gave-up when the backoff runs out, and the client ends', async () => {
    const server = await startRedis();
    const client = connect(server.url);
    const manager = createReconnectionManager(client, {
      backoff: { jitter: 'none', minDelayMs: 10, maxDelayMs: 10, maxAttempts: 2 },
      installRetryStrategy: true,
    });
    cleanup.push(() => manager.close());
    const seen = record(manager);
    await client.connect();
    await server.kill();
    await waitFor('end', () => client.status === 'end', { timeoutMs: 3_000 });
    expect(manager.state).toBe('gave-up');
    expect(seen.map(([k]) => k)).toEqual([
      'connected',
      'disconnected',
      'attempt',
      'attempt',
      'gave-up',
    ]);
    const gaveUp = seen.at(-1)![1] as ReconnectionEvents['gave-up'];
    expect(gaveUp.attempts).toBe(2);
    expect(gaveUp.error).toBeInstanceOf(Error);
  });

  it("observes the client's own retry strategy when not installed", async () => {
    const server = await startRedis();
    const client = new Redis(server.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => 25,
    });
    cleanup.push(() => client.disconnect());
    const manager = createReconnectionManager(client);
    cleanup.push(() => manager.close());
    const seen = record(manager);
    await client.connect();
    await server.kill();
    await waitFor('attempt', () => seen.some(([k]) => k === 'attempt'), { timeoutMs: 3_000 });
    expect(seen.find(([k]) => k === 'attempt')![1]).toEqual({ attempt: 1, delayMs: 25 });
    expect(client.options.retryStrategy).not.toBe(manager.retryStrategy);
  });

  it('close() removes its listeners, restores the strategy and never closes the client', async () => {
    const server = await startRedis();
    const client = connect(server.url);
    const original = client.options.retryStrategy;
    const before = ['ready', 'close', 'reconnecting', 'end', 'error'].map((e) =>
      client.listenerCount(e),
    );
    const manager = createReconnectionManager(client, { installRetryStrategy: true });
    expect(client.options.retryStrategy).toBe(manager.retryStrategy);
    expect(client.listenerCount('error')).toBe(before[4]! + 1);
    await client.connect();
    manager.close();
    manager.close();
    expect(
      ['ready', 'close', 'reconnecting', 'end', 'error'].map((e) => client.listenerCount(e)),
    ).toEqual(before);
    expect(client.options.retryStrategy).toBe(original);
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
  });

  it('validates the client and options', () => {
    expect(() => createReconnectionManager({} as never)).toThrow(ReconnectOptionsError);
    const client = new Redis({ lazyConnect: true });
    expect(() => createReconnectionManager(client, { stableAfterMs: -1 })).toThrow(
      /invalid option stableAfterMs: expected a finite number >= 0, got -1/,
    );
    expect(() =>
      createReconnectionManager(client, { backoff: { jitter: 'sometimes' as never } }),
    ).toThrow(/invalid option jitter/);
    client.disconnect();
  });
});
