import { CONNECTION_CHANNELS, INSTANCES_CHANNEL, type InstanceMessage } from '@x/connection';
import { listenChannels, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_CHANNELS, type LockAcquireMessage, type LockLostMessage } from './channels.js';
import { isLockLostError } from './errors.js';
import { createLockManager, type LockManager } from './lock-manager.js';
import type { LockStats } from './stats.js';

const managers: LockManager[] = [];
afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
});

/** Collects what is published on `name` while `fn` runs. */
async function listen<T>(name: string, fn: () => Promise<void>): Promise<T[]> {
  using channels = listenChannels([name]);
  await fn();
  return channels.of<T>(name);
}

describe('observability', () => {
  it('announces the manager on x:instances when created and closed', async () => {
    const redis = await startRedis();
    let locks: LockManager | undefined;
    const seen = await listen<InstanceMessage>(INSTANCES_CHANNEL, async () => {
      locks = createLockManager({ redis: redis.url });
      await locks.close();
    });
    const ours = seen.filter((m) => m.package === '@x/lock');
    expect(ours.map((m) => m.event)).toEqual(['open', 'close']);
    expect(ours[0]!.instance).toBe(locks);
    expect((ours[0]!.instance.stats() as LockStats).acquired).toBe(0);
  });

  it('publishes x:lock:acquire per settled acquisition: acquired, contended, unavailable', async () => {
    const redis = await startRedis();
    const locks = createLockManager({ redis: redis.url, retry: { attempts: 1, delayMs: 20 } });
    managers.push(locks);
    const seen = await listen<LockAcquireMessage>(LOCK_CHANNELS.acquire, async () => {
      const held = await locks.acquire('a');
      expect(await locks.tryAcquire('a')).toBeUndefined();
      await expect(locks.acquire('a')).rejects.toMatchObject({ code: 'E_LOCK_ACQUISITION' });
      await held.release();
      await redis.kill();
      await expect(locks.acquire('b')).rejects.toMatchObject({ code: 'E_LOCK_UNAVAILABLE' });
    });
    expect(seen.map((m) => m.outcome)).toEqual([
      'acquired',
      'contended',
      'contended',
      'unavailable',
    ]);
    // The third made no round trip: the key was held in this process for its whole wait.
    expect(seen.map((m) => m.attempts)).toEqual([1, 1, 0, 1]);
    // The contended acquire waited its one timed retry (20 ms + jitter) before giving up.
    expect(seen[2]!.waitMs).toBeGreaterThanOrEqual(15);
    for (const m of seen) expect(Object.keys(m).sort()).toEqual(['attempts', 'outcome', 'waitMs']);
    expect(locks.stats()).toMatchObject({
      acquired: 1,
      contended: 2,
      timedOut: 1,
      unavailable: 1,
      released: 1,
      held: 0,
      waiting: 0,
    });
  });

  it('publishes x:lock:lost with the reason, and counts the loss', async () => {
    const redis = await startRedis();
    const locks = createLockManager({ redis: redis.url });
    managers.push(locks);
    const admin = new Redis(redis.url);
    const seen = await listen<LockLostMessage>(LOCK_CHANNELS.lost, async () => {
      const expiring = await locks.acquire('expiring', { ttlMs: 100 });
      await waitFor('lost', () => expiring.signal.aborted, { timeoutMs: 2_000, intervalMs: 10 });
      const taken = await locks.acquire('taken', { ttlMs: 5_000 });
      await admin.set('x:lock:{taken}', 'someone else');
      await expect(taken.extend()).rejects.toSatisfy(isLockLostError);
      await expect(
        locks.withLock(
          'capped',
          (lock) => new Promise((r) => lock.signal.addEventListener('abort', r)),
          {
            ttlMs: 100,
            maxHoldMs: 150,
          },
        ),
      ).rejects.toSatisfy(isLockLostError);
    });
    admin.disconnect();
    expect(seen).toEqual([{ reason: 'expired' }, { reason: 'not-owner' }, { reason: 'max-hold' }]);
    const stats = locks.stats();
    expect(stats.lost).toBe(3);
    expect(stats.held).toBe(0);
    // withLock extended its lock at least once before maxHoldMs.
    expect(stats.extended).toBeGreaterThanOrEqual(1);
  });

  it('traces acquire, release and extend on x:connection:call', async () => {
    const redis = await startRedis();
    const locks = createLockManager({ redis: redis.url });
    managers.push(locks);
    await (await locks.acquire('warm')).release();
    const seen = await listen<{ connection: string; operation: string }>(
      `tracing:${CONNECTION_CHANNELS.call}:start`,
      async () => {
        const lock = await locks.acquire('traced');
        await lock.extend(5_000);
        await lock.release();
      },
    );
    expect(seen.map((m) => `${m.connection} ${m.operation}`)).toEqual([
      '@x/lock acquire',
      '@x/lock extend',
      '@x/lock release',
    ]);
  });

  it('counts waiters and holds while they last', async () => {
    const redis = await startRedis();
    const locks = createLockManager({ redis: redis.url, retry: { attempts: 50, delayMs: 20 } });
    managers.push(locks);
    // Scripts loaded first: a first release's NOSCRIPT round trip would let a timed retry of the
    // second waiter in before the woken first one.
    await (await locks.acquire('warm')).release();
    const first = await locks.acquire('w');
    const waiting = [locks.acquire('w'), locks.acquire('w')];
    await waitFor('two waiters', () => locks.stats().waiting === 2, { timeoutMs: 2_000 });
    expect(locks.stats()).toMatchObject({ held: 1, waiting: 2, contended: 2 });
    await first.release();
    const second = await waiting[0]!;
    await second.release();
    await (await waiting[1]!).release();
    expect(locks.stats()).toMatchObject({ held: 0, waiting: 0, acquired: 4, released: 4 });
  });
});
