import { startRedis } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { isLockUnavailableError } from './errors.js';
import { createLockManager, type LockManager } from './lock-manager.js';

const managers: LockManager[] = [];
const clients: Redis[] = [];

afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
  for (const c of clients) c.disconnect();
});

// Tests that do not measure the per-server deadline use a roomy one: a fresh manager's first
// call includes connecting and loading the script, which can take longer than 200 ms on a
// loaded CI machine.
async function threeServers(timeoutMs = 1_000) {
  const servers = await Promise.all([startRedis(), startRedis(), startRedis()]);
  const admins = servers.map((s) => {
    const c = new Redis(s.url);
    c.on('error', () => {});
    clients.push(c);
    return c;
  });
  const locks = createLockManager({
    redis: servers.map((s) => s.url),
    timeoutMs,
    retry: { attempts: 0 },
  });
  managers.push(locks);
  return { servers, admins, locks };
}

/** Connects every client and loads the script before a test measures a deadline. */
async function warm(locks: LockManager): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await (await locks.acquire('warm')).release();
      return;
    } catch (error) {
      if (attempt === 10) throw error;
    }
  }
}

describe('quorum mode (Redlock) over three servers', () => {
  it('holds a lock on a majority, only once, and releases it everywhere', async () => {
    const { admins, locks } = await threeServers();
    expect(locks.servers).toBe(3);
    expect(locks.quorum).toBe(2);
    const lock = await locks.acquire('q');
    const values = await Promise.all(admins.map((a) => a.get('x:lock:{q}')));
    expect(values).toEqual([lock.token, lock.token, lock.token]);
    expect(await locks.tryAcquire('q')).toBeUndefined();
    await lock.extend(5000);
    for (const a of admins) expect(await a.pttl('x:lock:{q}')).toBeGreaterThan(4000);
    expect(await lock.release()).toBe(true);
    expect(await Promise.all(admins.map((a) => a.exists('x:lock:{q}')))).toEqual([0, 0, 0]);
  });

  it('does not grant a lock held on a majority by someone else', async () => {
    const { admins, locks } = await threeServers();
    await admins[0]!.set('x:lock:{m}', 'other', 'PX', 10_000);
    await admins[1]!.set('x:lock:{m}', 'other', 'PX', 10_000);
    expect(await locks.tryAcquire('m')).toBeUndefined();
    // The one grant it got (on the third server) was given back.
    expect(await admins[2]!.exists('x:lock:{m}')).toBe(0);
  });

  it('works with one of three down, refuses with two down; fencing keeps increasing', async () => {
    const { servers, locks } = await threeServers();
    const first = await locks.acquire('k');
    await first.release();

    await servers[0]!.kill();
    const second = await locks.acquire('k');
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(await second.release()).toBe(true);

    await servers[1]!.kill();
    const started = performance.now();
    const error = await locks.acquire('k').catch((e: unknown) => e);
    expect(isLockUnavailableError(error)).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
    await expect(locks.tryAcquire('k')).rejects.toSatisfy(isLockUnavailableError);
  });

  it('a frozen server costs at most its per-server deadline', async () => {
    const { servers, locks } = await threeServers(200);
    await warm(locks);
    await servers[2]!.freeze();
    const started = performance.now();
    const lock = await locks.acquire('f', { ttlMs: 5000 });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    // Bounded by the deadline, not by the freeze (which lasts until the test resumes it); the
    // margin is for timer lag on a loaded machine.
    expect(elapsed).toBeLessThan(1_000);
    // Validity is counted from before the request: the wait came off the lock's lifetime.
    expect(lock.expiresAt).toBeLessThanOrEqual(Date.now() + 5000 - 150);
    await lock.release();
    await servers[2]!.resume();
  });

  it('fencing tokens increase across different majorities', async () => {
    const { servers, locks } = await threeServers(200);
    await warm(locks);
    const tokens: number[] = [];
    // Take the lock on varying majorities by freezing one server at a time.
    for (const down of [0, 1, 2, 0]) {
      await servers[down]!.freeze();
      const lock = await locks.acquire('fence', { ttlMs: 2000 });
      tokens.push(lock.fencingToken);
      await lock.release();
      await servers[down]!.resume();
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
  });
});
