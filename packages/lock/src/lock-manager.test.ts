import { type RedisHandle, sleep, startFaultProxy, startRedis, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isLockAcquisitionError,
  isLockLostError,
  isLockOptionsError,
  isLockUnavailableError,
  type LockOptionsError,
} from './errors.js';
import { createLockManager, type LockManager } from './lock-manager.js';
import type { LockManagerOptions } from './options.js';

let redis: RedisHandle;
let admin: Redis;
const managers: LockManager[] = [];
let keyNo = 0;

function manager(options: Partial<LockManagerOptions> = {}): LockManager {
  const created = createLockManager({ redis: redis.url, timeoutMs: 1000, ...options });
  managers.push(created);
  return created;
}

function key(): string {
  keyNo++;
  return `job-${keyNo}`;
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
  admin.disconnect();
});

describe('acquire / release / extend', () => {
  it('grants one holder at a time, with a random token and an increasing fencing token', async () => {
    const locks = manager();
    const k = key();
    const first = await locks.acquire(k, { ttlMs: 5000 });
    expect(first.key).toBe(k);
    expect(first.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.held).toBe(true);
    expect(first.expiresAt).toBeGreaterThan(Date.now() + 4000);
    expect(first.expiresAt).toBeLessThanOrEqual(Date.now() + 5000);
    expect(await admin.get(`x:lock:{${k}}`)).toBe(first.token);
    const pttl = await admin.pttl(`x:lock:{${k}}`);
    expect(pttl).toBeGreaterThan(4000);

    expect(await locks.tryAcquire(k)).toBeUndefined();
    expect(await first.release()).toBe(true);
    expect(first.held).toBe(false);
    expect(await first.release()).toBe(false);
    expect(await admin.exists(`x:lock:{${k}}`)).toBe(0);

    const second = await locks.tryAcquire(k);
    expect(second).toBeDefined();
    expect(second!.token).not.toBe(first.token);
    expect(second!.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(Number.isSafeInteger(second!.fencingToken)).toBe(true);
    await second!.release();
  });

  it('release and extend act only for the owner', async () => {
    const locks = manager();
    const k = key();
    const lock = await locks.acquire(k, { ttlMs: 300 });
    await lock.extend(5000);
    expect(await admin.pttl(`x:lock:{${k}}`)).toBeGreaterThan(4000);
    expect(lock.expiresAt).toBeGreaterThan(Date.now() + 4000);
    // Someone else owns the key now (as after an expiry and a new acquisition).
    await admin.set(`x:lock:{${k}}`, 'someone-else', 'PX', 5000);
    const error = await lock.extend().catch((e: unknown) => e);
    expect(isLockLostError(error)).toBe(true);
    expect(lock.signal.aborted).toBe(true);
    expect(isLockLostError(lock.signal.reason)).toBe(true);
    expect(lock.held).toBe(false);
    expect(await lock.release()).toBe(false);
    expect(await admin.get(`x:lock:{${k}}`)).toBe('someone-else');
  });

  it('signal aborts when the TTL passes without an extension', async () => {
    const locks = manager();
    const lock = await locks.acquire(key(), { ttlMs: 150 });
    const signal = lock.signal;
    expect(signal.aborted).toBe(false);
    await waitFor('lock lost', () => signal.aborted, { timeoutMs: 1000, intervalMs: 10 });
    expect(isLockLostError(signal.reason)).toBe(true);
    expect((signal.reason as Error).message).toMatch(/^\[@x\/lock\] lock "job-\d+" lost: expired/);
    await expect(lock.extend()).rejects.toSatisfy(isLockLostError);
  });

  it('await using releases the lock', async () => {
    const locks = manager();
    const k = key();
    {
      await using lock = await locks.acquire(k);
      expect(lock.held).toBe(true);
      expect(await admin.exists(`x:lock:{${k}}`)).toBe(1);
    }
    expect(await admin.exists(`x:lock:{${k}}`)).toBe(0);
  });

  it('fencing tokens keep increasing when the counter falls behind (failover to a lagging replica)', async () => {
    const locks = manager();
    const k = key();
    const first = await locks.acquire(k);
    await first.release();
    const second = await locks.acquire(k);
    await second.release();
    // What a replica promoted before it received the last acquisitions would hold.
    await admin.set(`x:lock:{${k}}:fence`, String(first.fencingToken));
    const third = await locks.acquire(k);
    expect(third.fencingToken).toBeGreaterThan(second.fencingToken);
    await third.release();
    // Back-to-back acquisitions still increase strictly (by one within a microsecond).
    const tokens: number[] = [];
    for (let i = 0; i < 20; i++) {
      const lock = await locks.acquire(k);
      tokens.push(lock.fencingToken);
      await lock.release();
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
  });

  it('fencing tokens keep increasing after Redis restarts empty', async () => {
    const server = await startRedis();
    const locks = manager({ redis: server.url });
    const k = key();
    const before = await locks.acquire(k);
    await before.release();
    await server.restart();
    const after = await waitFor('reconnected', () => locks.tryAcquire(k).catch(() => undefined), {
      timeoutMs: 5000,
      intervalMs: 50,
    });
    expect(after.fencingToken).toBeGreaterThan(before.fencingToken);
    await after.release();
  });
});

describe('waiting', () => {
  it('a waiter of the same manager gets the lock as soon as it is released', async () => {
    const locks = manager({ retry: { attempts: 5, delayMs: 1000, jitter: 0 } });
    const k = key();
    const holder = await locks.acquire(k, { ttlMs: 10_000 });
    const started = performance.now();
    const waiting = locks.acquire(k);
    await sleep(30);
    await holder.release();
    const next = await waiting;
    // Woken by the release, not by the 1 s retry timer.
    expect(performance.now() - started).toBeLessThan(300);
    expect(next.fencingToken).toBeGreaterThan(holder.fencingToken);
    await next.release();
  });

  it('a release wakes waiters of other managers of this process on the same server', async () => {
    const a = manager();
    const b = manager({ retry: { attempts: 5, delayMs: 1000, jitter: 0 } });
    const k = key();
    const holder = await a.acquire(k, { ttlMs: 10_000 });
    const started = performance.now();
    const waiting = b.acquire(k);
    await sleep(30);
    await holder.release();
    const next = await waiting;
    expect(performance.now() - started).toBeLessThan(300);
    await next.release();
  });

  it('notify: a release wakes waiters in other processes through pub/sub', async () => {
    // A manager reached through a proxy does not share this process' wake-ups (another server
    // address): it stands for another process.
    const proxy = await startFaultProxy({ target: redis });
    const holderSide = manager({ notify: true });
    const otherSide = manager({
      redis: proxy.url,
      notify: true,
      retry: { attempts: 5, delayMs: 2000, jitter: 0 },
    });
    const k = key();
    const holder = await holderSide.acquire(k, { ttlMs: 10_000 });
    const waiting = otherSide.acquire(k);
    await sleep(150); // let the waiter subscribe
    const released = performance.now();
    await holder.release();
    const next = await waiting;
    expect(performance.now() - released).toBeLessThan(500);
    await next.release();
  });

  it('without notify, another process notices a release at its next retry', async () => {
    const proxy = await startFaultProxy({ target: redis });
    const holderSide = manager();
    const otherSide = manager({
      redis: proxy.url,
      retry: { attempts: 5, delayMs: 600, jitter: 0 },
    });
    const k = key();
    const holder = await holderSide.acquire(k, { ttlMs: 10_000 });
    const waiting = otherSide.acquire(k);
    await sleep(100);
    const released = performance.now();
    await holder.release();
    const next = await waiting;
    expect(performance.now() - released).toBeGreaterThan(300);
    await next.release();
  });

  it('retries no later than the holder TTL, across managers', async () => {
    const a = manager();
    const b = manager({ retry: { attempts: 3, delayMs: 2000, jitter: 0 } });
    const k = key();
    await a.acquire(k, { ttlMs: 200 });
    const started = performance.now();
    const lock = await b.acquire(k);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThan(100);
    expect(waited).toBeLessThan(1000);
    await lock.release();
  });

  it('a key held without a TTL is retried at the full delay, not at once', async () => {
    const locks = manager({ retry: { attempts: 2, delayMs: 60, jitter: 0 } });
    const k = key();
    await admin.set(`x:lock:{${k}}`, 'someone else');
    const started = performance.now();
    await expect(locks.acquire(k)).rejects.toSatisfy(isLockAcquisitionError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    await admin.del(`x:lock:{${k}}`);
  });

  it('gives up with LockAcquisitionError after its attempts', async () => {
    const locks = manager();
    const k = key();
    const holder = await locks.acquire(k, { ttlMs: 10_000 });
    const other = manager();
    const error = await other
      .acquire(k, { retry: { attempts: 3, delayMs: 20, jitter: 10 } })
      .catch((e: unknown) => e);
    expect(isLockAcquisitionError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_LOCK_ACQUISITION', key: k, attempts: 4 });
    await holder.release();
  });

  it('an aborted signal ends the wait with its reason', async () => {
    const locks = manager();
    const k = key();
    const holder = await locks.acquire(k, { ttlMs: 10_000 });
    const controller = new AbortController();
    const waiting = locks.acquire(k, {
      signal: controller.signal,
      retry: { attempts: 100, delayMs: 50 },
    });
    setTimeout(() => controller.abort(new Error('stop waiting')), 40);
    await expect(waiting).rejects.toThrow('stop waiting');
    await holder.release();
  });

  it('hands over in arrival order inside one manager', async () => {
    const locks = manager({ retry: { attempts: 50, delayMs: 500, jitter: 0 } });
    const k = key();
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        await sleep(i * 3);
        const lock = await locks.acquire(k);
        order.push(i);
        await sleep(2);
        await lock.release();
      }),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('hand-over inside a process', () => {
  it('costs one acquire and one release per lock: timed wakes send nothing while a local try is in flight', async () => {
    const server = await startRedis();
    const probe = new Redis(server.url);
    // Timers that fire every 1-2 ms: before each hand-over completes, many of them come due.
    const locks = manager({ redis: server.url, retry: { attempts: 5_000, delayMs: 1, jitter: 1 } });
    await (await locks.acquire('warm')).release();
    await probe.config('RESETSTAT');
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, worker) => {
        for (let round = 0; round < 5; round++) {
          const lock = await locks.acquire('handed');
          order.push(worker);
          await sleep(2);
          await lock.release();
        }
      }),
    );
    const stats = await probe.info('commandstats');
    const scripts = [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    probe.disconnect();
    expect(order).toHaveLength(100);
    // 100 acquisitions and 100 releases; the one EVAL that loads a script after NOSCRIPT aside.
    expect(scripts).toBeLessThanOrEqual(200 + 2);
    // FIFO: every worker waits behind the 19 others, so each round goes through all 20 workers.
    for (let i = 0; i < 100; i += 20) expect(new Set(order.slice(i, i + 20)).size).toBe(20);
  });
});

describe('withLock', () => {
  it('extends the lock in the background while fn runs, then releases it', async () => {
    const locks = manager();
    const k = key();
    // fn holds the lock for 3 TTLs: only background extensions keep it. The TTL leaves an
    // extension 250 ms to come back (it is sent when half the TTL is left): a loaded CI machine
    // can stall a test process for 100 ms, after which a 200 ms lock is rightly given up.
    const result = await locks.withLock(
      k,
      async (lock) => {
        const fence = lock.fencingToken;
        for (let i = 0; i < 6; i++) {
          await sleep(250);
          expect(await admin.get(`x:lock:{${k}}`)).toBe(lock.token);
        }
        expect(lock.signal.aborted).toBe(false);
        return fence;
      },
      { ttlMs: 500 },
    );
    expect(typeof result).toBe('number');
    expect(await admin.exists(`x:lock:{${k}}`)).toBe(0);
  });

  it('stops extending at maxHoldMs: signal aborts and withLock rejects with LockLostError', async () => {
    const locks = manager();
    let aborted = false;
    const error = await locks
      .withLock(
        key(),
        async (lock) => {
          await new Promise<void>((resolve) =>
            lock.signal.addEventListener('abort', () => resolve()),
          );
          aborted = true;
        },
        { ttlMs: 100, maxHoldMs: 250 },
      )
      .catch((e: unknown) => e);
    expect(aborted).toBe(true);
    expect(isLockLostError(error)).toBe(true);
  });

  it("rethrows fn's error and releases", async () => {
    const locks = manager();
    const k = key();
    await expect(
      locks.withLock(k, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await admin.exists(`x:lock:{${k}}`)).toBe(0);
  });
});

describe('Redis down', () => {
  it('signal aborts mid-hold, then acquire fails fast with LockUnavailableError', async () => {
    const server = await startRedis();
    const locks = manager({ redis: server.url, breaker: { maxFailures: 2, resetTimeout: 10_000 } });
    const k = key();
    let signal: AbortSignal | undefined;
    const held = locks.withLock(
      k,
      async (lock) => {
        signal = lock.signal;
        await new Promise<void>((resolve) =>
          lock.signal.addEventListener('abort', () => resolve()),
        );
      },
      { ttlMs: 300 },
    );
    await waitFor('held', () => signal);
    const killedAt = performance.now();
    await server.kill();
    await expect(held).rejects.toSatisfy(isLockLostError);
    expect(signal!.aborted).toBe(true);
    expect(performance.now() - killedAt).toBeLessThan(600);

    const started = performance.now();
    const error = await locks.acquire(k).catch((e: unknown) => e);
    expect(isLockUnavailableError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_LOCK_UNAVAILABLE' });
    expect((error as Error).cause).toBeDefined();
    expect(performance.now() - started).toBeLessThan(400);
    await expect(locks.tryAcquire(k)).rejects.toSatisfy(isLockUnavailableError);
  });

  it('a frozen Redis costs at most the deadline', async () => {
    const server = await startRedis();
    const locks = manager({ redis: server.url, timeoutMs: 150 });
    await (await locks.acquire(key())).release();
    await server.freeze();
    const started = performance.now();
    await expect(locks.acquire(key())).rejects.toSatisfy(isLockUnavailableError);
    expect(performance.now() - started).toBeLessThan(400);
    await server.resume();
  });
});

describe('writes', () => {
  it('the acquires and releases of one tick reach Redis in one read', async () => {
    const server = await startRedis();
    const probe = new Redis(server.url);
    const locks = manager({ redis: server.url });
    await (await locks.acquire(key())).release();
    const reads = async (): Promise<number> =>
      Number(/total_reads_processed:(\d+)/.exec(await probe.info('stats'))![1]);
    const names = Array.from({ length: 50 }, () => key());
    const before = await reads();
    const held = await Promise.all(names.map((k) => locks.acquire(k)));
    const afterAcquire = await reads();
    expect(await Promise.all(held.map((l) => l.release()))).toEqual(names.map(() => true));
    const afterRelease = await reads();
    // One read for the batch, one for the probe's INFO (50 separate writes would be up to 50).
    expect(afterAcquire - before).toBeLessThanOrEqual(3);
    expect(afterRelease - afterAcquire).toBeLessThanOrEqual(3);
    expect(new Set(held.map((l) => l.token)).size).toBe(50);
    probe.disconnect();
  });
});

describe('options', () => {
  it('rejects invalid options naming the field', () => {
    const cases: [Partial<LockManagerOptions>, string][] = [
      [{ ttlMs: 0 }, 'ttlMs'],
      [{ timeoutMs: 1.5 }, 'timeoutMs'],
      [{ retry: { attempts: -1 } }, 'retry.attempts'],
      [{ keyPrefix: 'a{b' }, 'keyPrefix'],
      [{ driftFactor: 2 }, 'driftFactor'],
      [{ redis: [] }, 'redis'],
      [{ fallback: 'memory' as never }, 'fallback'],
      [{ logger: 42 as never }, 'logger'],
      [{ notify: 'yes' as never }, 'notify'],
      [{ ioredis: 'fast' as never }, 'ioredis'],
      [{ breaker: 'on' as never }, 'breaker'],
      [{ breaker: { maxFailures: 0 } }, 'breaker.maxFailures'],
      [{ redis: [redis.url, undefined as never, redis.url] }, 'redis[1]'],
      [{ redis: [redis.url, redis.url, redis.url], breaker: { execute() {} } as never }, 'breaker'],
    ];
    for (const [bad, field] of cases) {
      let caught: unknown;
      try {
        createLockManager({ redis: redis.url, ...bad } as LockManagerOptions);
      } catch (error) {
        caught = error;
      }
      expect(isLockOptionsError(caught)).toBe(true);
      expect((caught as LockOptionsError).field).toBe(field);
      expect((caught as Error).message).toMatch(/^\[@x\/lock\] invalid /);
    }
    // Locks never fall back to memory: the one accepted value says so.
    const explicit = createLockManager({ redis: redis.url, fallback: 'none' });
    managers.push(explicit);
    let caught: unknown;
    try {
      createLockManager({ redis: redis.url, fallback: 'memory' as never });
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).toMatch(/never falls back to memory/);
  });

  it('rejects an invalid key or ttl per call', async () => {
    const locks = manager();
    await expect(locks.acquire('')).rejects.toSatisfy(isLockOptionsError);
    await expect(locks.acquire('k', { ttlMs: -5 })).rejects.toSatisfy(isLockOptionsError);
  });
});
