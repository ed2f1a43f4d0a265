import { closeAfter, sleep, startReplicaSet, waitFor, withAdmin } from '@x/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import type { RateLimitSourceChange } from './options.js';
import { createRateLimiter } from './rate-limiter.js';

const open = closeAfter(afterAll);

// Enough not to be reached before the failover is over (the load admits a few hundred a second),
// in a window that holds the whole test (a day: the test crosses midnight UTC once in ~5 000 runs).
const LIMIT = 2_000;
const DAY = 86_400_000;
const KEY = 'failover';

describe('Sentinel failover', () => {
  it('admits at most the limit in a window: no decision lands on the old primary once a failover began', async () => {
    const rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
    open.push(() => rs.stop());
    const changes: RateLimitSourceChange[] = [];
    const limiter = open.add(
      createRateLimiter({
        redis: { sentinels: rs.sentinelAddresses, sentinelName: rs.masterName },
        algorithm: 'fixed-window',
        limit: LIMIT,
        windowMs: DAY,
        logger: false,
        onSourceChange: (change) => changes.push(change),
      }),
    );
    await waitFor(
      'decisions from Redis',
      async () => (await limiter.peek(KEY)).source === 'redis',
      {
        timeoutMs: 10_000,
        intervalMs: 50,
      },
    );

    // What Redis admitted, per window.
    const admitted = new Map<number, number>();
    const consume = async (): Promise<boolean> => {
      const r = await limiter.consume(KEY);
      if (r.source !== 'redis') return true;
      if (r.allowed) admitted.set(r.resetAt, (admitted.get(r.resetAt) ?? 0) + 1);
      return r.allowed;
    };
    // Decisions all through the failover: before, while the replica is promoted, after.
    let loading = true;
    const load = (async () => {
      while (loading) {
        await consume();
        await sleep(2);
      }
    })();
    await sleep(300);
    const { to } = await rs.failover();
    await waitFor('decisions from the new primary', () => limiter.source === 'redis', {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    loading = false;
    await load;
    // Then the rest of the window, until the new primary refuses.
    const until = performance.now() + 20_000;
    while ((await consume()) && performance.now() < until);

    // Before the fix, the old primary admitted a few hundred requests after the replica was
    // promoted (until +switch-master, ~1 s later); the new primary never saw them and admitted
    // the whole limit again.
    const [window, count] = [...admitted].sort((a, b) => b[1] - a[1])[0]!;
    expect(count).toBeLessThanOrEqual(LIMIT);
    // Every admission Redis answered is in the new primary's count: none was lost with the old one.
    const stored = await withAdmin(to, (c) => c.hget(`x:rl:${KEY}`, 'c'));
    expect(Number(stored)).toBe(count);
    expect(admitted.size).toBe(1);
    expect(window).toBeGreaterThan(Date.now());
    // The limiter decided locally during the failover, and is back on Redis.
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['redis->local', 'local->redis']);
  }, 60_000);
});
