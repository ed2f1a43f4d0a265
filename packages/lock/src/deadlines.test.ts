// Issue 17 item 2: every call settles within its documented deadline when Redis is refused,
// frozen, or misconfigured (wrong password, TLS mismatch), rejecting with LockUnavailableError
// whose `problem` says which; a misconfiguration is reported at once, not at the deadline.
import {
  type RedisHandle,
  startFailingRedis,
  startFaultProxy,
  startRedis,
  waitFor,
} from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { isLockUnavailableError, type LockUnavailableError } from './errors.js';
import type { Lock } from './lock.js';
import { createLockManager, type LockManager } from './lock-manager.js';
import type { LockManagerOptions } from './options.js';

const TIMEOUT_MS = 400;
// Timer lag and a busy machine: a deadline is met when the call settles within this much more.
const SLACK_MS = 350;
// The guard reads its clock once per tick (timeoutMs / 10): a call may time out up to one tick
// early, never late.
const EARLY_MS = TIMEOUT_MS / 10 + 10;

const managers: LockManager[] = [];
afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
});

function manager(redis: string, options: Partial<LockManagerOptions> = {}): LockManager {
  const locks = createLockManager({
    redis,
    timeoutMs: TIMEOUT_MS,
    logger: false,
    retry: { attempts: 0 },
    ...options,
  });
  managers.push(locks);
  return locks;
}

/** Runs `call`, which must reject with LockUnavailableError; returns it with the time taken. */
async function unavailable(
  call: () => Promise<unknown>,
): Promise<{ error: LockUnavailableError; ms: number }> {
  const started = performance.now();
  const error = await call().then(
    () => {
      throw new Error('expected a LockUnavailableError, the call succeeded');
    },
    (e: unknown) => e,
  );
  const ms = performance.now() - started;
  expect(isLockUnavailableError(error), String(error)).toBe(true);
  expect((error as Error).message).toMatch(/^\[@x\/lock\] Redis unavailable during /);
  return { error: error as LockUnavailableError, ms };
}

describe('a new manager: acquire and tryAcquire', () => {
  it('refused: settle by the deadline with problem refused, then fail at once', async () => {
    const locks = manager((await startFailingRedis('refused')).url);
    const first = await unavailable(() => locks.acquire('k'));
    expect(first.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(first.error.problem?.kind).toBe('refused');
    expect(first.error.operation).toBe('acquire');
    const second = await unavailable(() => locks.tryAcquire('k'));
    expect(second.ms).toBeLessThan(100);
    expect(second.error.problem?.kind).toBe('refused');
    expect(locks.stats()).toMatchObject({ unavailable: 2, acquired: 0 });
    expect((locks.stats().redis as { problem: { kind: string } }).problem.kind).toBe('refused');
  });

  it('frozen: settle by the deadline with problem timeout', async () => {
    const { server } = await startFailingRedis('frozen');
    try {
      const locks = manager(server.url);
      const acquired = await unavailable(() => locks.acquire('k'));
      expect(acquired.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - EARLY_MS);
      expect(acquired.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      expect(acquired.error.problem?.kind).toBe('timeout');
      const tried = await unavailable(() => locks.tryAcquire('k'));
      expect(tried.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      expect(tried.error.problem?.kind).toBe('timeout');
    } finally {
      await server.resume();
    }
  });

  it('wrong password: auth, at once (no deadline wait)', async () => {
    const bad = await startFailingRedis('wrong-password');
    const locks = manager(bad.url, { timeoutMs: 3_000 });
    const acquired = await unavailable(() => locks.acquire('k'));
    expect(acquired.ms).toBeLessThan(1_000);
    expect(acquired.error.problem).toMatchObject({ kind: 'auth', misconfiguration: true });
    expect(acquired.error.message).toMatch(/WRONGPASS/);
    const tried = await unavailable(() => locks.tryAcquire('k'));
    expect(tried.ms).toBeLessThan(100);
    expect(tried.error.problem?.kind).toBe('auth');
  });

  it('TLS mismatch (a TLS server reached with redis://): tls, at once', async () => {
    const { url } = await startFailingRedis('tls-mismatch');
    const locks = manager(url, { timeoutMs: 3_000 });
    const acquired = await unavailable(() => locks.acquire('k'));
    expect(acquired.ms).toBeLessThan(1_500);
    expect(acquired.error.problem).toMatchObject({ kind: 'tls', misconfiguration: true });
    expect(acquired.error.problem?.hint).toMatch(/rediss:\/\//);
    const tried = await unavailable(() => locks.tryAcquire('k'));
    expect(tried.ms).toBeLessThan(100);
    expect(tried.error.problem?.kind).toBe('tls');
  });
});

describe('a held lock: release and extend', () => {
  async function holding(
    server: RedisHandle | string,
  ): Promise<{ locks: LockManager; a: Lock; b: Lock }> {
    const locks = manager(typeof server === 'string' ? server : server.url);
    const a = await locks.acquire('a', { ttlMs: 10_000 });
    const b = await locks.acquire('b', { ttlMs: 10_000 });
    return { locks, a, b };
  }

  it('refused (Redis killed): fail fast with problem refused', async () => {
    const server = await startRedis();
    const { locks, a, b } = await holding(server);
    await server.kill();
    await waitFor(
      'the connection sees the link lost',
      () => (locks.stats().redis as { state: string }).state === 'unusable',
      { timeoutMs: 2_000, intervalMs: 10 },
    );
    const released = await unavailable(() => a.release());
    expect(released.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(released.error.operation).toBe('release');
    expect(released.error.problem?.kind).toBe('refused');
    const extended = await unavailable(() => b.extend());
    expect(extended.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
    expect(extended.error.operation).toBe('extend');
    expect(extended.error.problem?.kind).toBe('refused');
    // A failed extension leaves the lock held locally until its deadline.
    expect(b.held).toBe(true);
  });

  it('frozen: settle by the deadline with problem timeout', async () => {
    const server = await startRedis();
    const { a, b } = await holding(server);
    await server.freeze();
    try {
      const [released, extended] = await Promise.all([
        unavailable(() => a.release()),
        unavailable(() => b.extend()),
      ]);
      for (const { ms, error } of [released, extended]) {
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - EARLY_MS);
        expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        expect(error.problem?.kind).toBe('timeout');
      }
    } finally {
      await server.resume();
    }
  });

  it('wrong password (rotated on the server): auth, at once', async () => {
    const server = await startRedis({ password: 'old' });
    const { locks, a, b } = await holding(server);
    const admin = new Redis(server.url);
    try {
      await admin.config('SET', 'requirepass', 'new');
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await waitFor(
        'the reconnection is refused with WRONGPASS',
        () =>
          (locks.stats().redis as { problem: { kind: string } | null }).problem?.kind === 'auth',
        { timeoutMs: 3_000, intervalMs: 10 },
      );
      const released = await unavailable(() => a.release());
      expect(released.ms).toBeLessThan(100);
      expect(released.error.problem).toMatchObject({ kind: 'auth', misconfiguration: true });
      const extended = await unavailable(() => b.extend());
      expect(extended.ms).toBeLessThan(100);
      expect(extended.error.problem?.kind).toBe('auth');
    } finally {
      admin.disconnect();
    }
  });

  it('TLS mismatch (the server now speaks TLS): at once, the problem says to use rediss://', async () => {
    const plain = await startRedis();
    const secure = await startRedis({ tls: true });
    // The proxy reads its target's port for every new connection: switching it makes the
    // manager's reconnection meet a TLS server on the address it knows.
    const target = { host: '127.0.0.1', port: plain.port };
    const proxy = await startFaultProxy({ target });
    const { locks, a, b } = await holding(proxy.url);
    target.port = secure.port;
    proxy.reset();
    proxy.pass();
    await waitFor(
      'the connection sees the link lost',
      () => (locks.stats().redis as { problem: unknown }).problem !== null,
      { timeoutMs: 3_000, intervalMs: 10 },
    );
    const released = await unavailable(() => a.release());
    expect(released.ms).toBeLessThan(100);
    const extended = await unavailable(() => b.extend());
    expect(extended.ms).toBeLessThan(100);
    for (const { error } of [released, extended]) {
      // A connection that was ready once diagnoses a reset on reconnection as `refused` (its
      // protocol probe runs before the first ready only), with a hint that names TLS.
      expect(['tls', 'refused']).toContain(error.problem?.kind);
      expect(error.problem?.hint).toMatch(/rediss:\/\//);
    }
  });
});

describe('close()', () => {
  it('is bounded on a frozen server, idempotent, and ends pending waits', async () => {
    const server = await startRedis();
    const locks = createLockManager({
      redis: server.url,
      timeoutMs: TIMEOUT_MS,
      logger: false,
      notify: true,
      retry: { attempts: 100, delayMs: 50 },
    });
    const held = await locks.acquire('k', { ttlMs: 10_000 });
    const waiting = locks.acquire('k');
    await server.freeze();
    try {
      const started = performance.now();
      const closing = locks.close();
      expect(locks.close()).toBe(closing);
      await expect(waiting).rejects.toSatisfy(isLockUnavailableError);
      await closing;
      expect(performance.now() - started).toBeLessThan(1_000 + SLACK_MS);
      await expect(locks.acquire('other')).rejects.toSatisfy(isLockUnavailableError);
      await expect(held.release()).rejects.toSatisfy(isLockUnavailableError);
      expect(locks.stats()).toMatchObject({ waiting: 0 });
    } finally {
      await server.resume();
    }
  });
});
