import { fileURLToPath } from 'node:url';
import { bundleWorker, startRedis, startWorker, waitFor } from '@x/testkit';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLockManager } from './lock-manager.js';

let contender: string;

beforeAll(async () => {
  contender = await bundleWorker(
    fileURLToPath(new URL('./_fixtures/contender.ts', import.meta.url)),
  );
});

describe('8 processes contend for one key', () => {
  it('never overlap, and fencing tokens only increase', async () => {
    const redis = await startRedis();
    const storage = new Redis(redis.url);
    const rounds = 4;
    const startAt = Date.now() + 1000;
    const workers = Array.from({ length: 8 }, () =>
      startWorker(contender, ['contend', redis.url, 'shared', String(rounds), String(startAt)]),
    );
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.stderr()).join('\n')).toEqual(Array(8).fill(0));
    const results = workers.map(
      (w) =>
        JSON.parse(w.stdout().trim()) as { overlaps: number; rejected: number; tokens: number[] },
    );
    expect(results.map((r) => r.overlaps)).toEqual(Array(8).fill(0));
    expect(results.map((r) => r.rejected)).toEqual(Array(8).fill(0));
    // The log: start/end pairs of one holder at a time, tokens strictly increasing between holders.
    const log = await storage.lrange('log', 0, -1);
    expect(log).toHaveLength(8 * rounds * 2);
    let previous = 0;
    for (let i = 0; i < log.length; i += 2) {
      const [fence, pid, what] = log[i]!.split(':');
      expect(what).toBe('start');
      expect(log[i + 1]).toBe(`${fence}:${pid}:end`);
      expect(Number(fence)).toBeGreaterThan(previous);
      previous = Number(fence);
    }
    const tokens = results.flatMap((r) => r.tokens);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(await storage.get('holders')).toBe('0');
    storage.disconnect();
  }, 19_000);

  it('a holder frozen past its TTL loses the lock; its late write is refused by fencing', async () => {
    const redis = await startRedis();
    const storage = new Redis(redis.url);
    const frozen = startWorker(contender, ['hold', redis.url, 'resource', '300']);
    const line = await waitFor(
      'child holds the lock',
      () => /acquired (\d+)/.exec(frozen.stdout()),
      {
        timeoutMs: 10_000,
      },
    );
    const staleToken = Number(line[1]);
    frozen.child.kill('SIGSTOP');
    try {
      // Another holder gets the lock once the TTL has run out, and writes with its newer token.
      const locks = createLockManager({
        redis: redis.url,
        retry: { attempts: 50, delayMs: 50, jitter: 10 },
      });
      const lock = await locks.acquire('resource', { ttlMs: 5000 });
      expect(lock.fencingToken).toBeGreaterThan(staleToken);
      await storage.eval(
        "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('RPUSH', KEYS[2], ARGV[2])",
        2,
        'log:last',
        'log',
        String(lock.fencingToken),
        'fresh',
      );
      frozen.child.kill('SIGCONT');
      frozen.write('write\n');
      const result = await waitFor(
        'late write attempted',
        () => /write (\d) held=(\w+)/.exec(frozen.stdout()),
        {
          timeoutMs: 10_000,
        },
      );
      expect(result[1]).toBe('0');
      expect(result[2]).toBe('false');
      expect(await storage.lrange('log', 0, -1)).toEqual(['fresh']);
      expect(await lock.release()).toBe(true);
      await locks.close();
    } finally {
      frozen.child.kill('SIGCONT');
      storage.disconnect();
    }
    expect(await frozen.exited, frozen.stderr()).toBe(0);
  }, 19_000);
});
