import { closeAfter, sleep, startReplicaSet, waitFor, withAdmin } from '@x/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type FailoverEvent, parseFailoverEvent } from './_internal/sentinel-events.js';
import { FailoverFence } from './failover-fence.js';
import { type Connection, createConnection } from './index.js';

const open = closeAfter(afterAll);

// Messages as Redis 7 sentinels publish them (seen during `SENTINEL FAILOVER`).
const PRIMARY = { host: '127.0.0.1', port: 7001 };
const REPLICA = { host: '127.0.0.1', port: 7002 };
const MESSAGES: [channel: string, message: string][] = [
  ['+try-failover', 'master mymaster 127.0.0.1 7001'],
  ['+selected-slave', 'slave 127.0.0.1:7002 127.0.0.1 7002 @ mymaster 127.0.0.1 7001'],
  ['+switch-master', 'mymaster 127.0.0.1 7001 127.0.0.1 7002'],
  ['-failover-abort-not-elected', 'master mymaster 127.0.0.1 7001'],
];

describe('the sentinel messages', () => {
  it('are read for the primary they name, and only for it', () => {
    expect(MESSAGES.map(([c, m]) => parseFailoverEvent(c, m, 'mymaster'))).toEqual([
      { type: 'step', master: PRIMARY },
      { type: 'step', master: PRIMARY },
      { type: 'switch', from: PRIMARY, to: REPLICA },
      { type: 'abort' },
    ]);
    for (const [channel, message] of MESSAGES) {
      expect(parseFailoverEvent(channel, message, 'other')).toBeUndefined();
    }
    for (const [channel, message] of [
      ['+sdown', 'master mymaster 127.0.0.1 7001'],
      ['+try-failover', 'master mymaster 127.0.0.1 port'],
      ['+switch-master', 'mymaster 127.0.0.1 7001'],
      ['+selected-slave', 'slave 127.0.0.1:7002 127.0.0.1 7002'],
      ['+try-failover', ''],
    ]) {
      expect(parseFailoverEvent(channel!, message!, 'mymaster')).toBeUndefined();
    }
  });
});

describe('the fence (pure logic)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const step: FailoverEvent = { type: 'step', master: PRIMARY };
  const abort: FailoverEvent = { type: 'abort' };
  const switched: FailoverEvent = { type: 'switch', from: PRIMARY, to: REPLICA };
  function fence(maxMs = 30_000): { fence: FailoverFence; calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      fence: new FailoverFence({
        maxMs,
        started: (master) => calls.push(`started ${master.port}`),
        ended: (how) => calls.push(`ended ${how}`),
      }),
    };
  }

  it('holds from the first step to the switch, then keeps the client off the replaced primary', () => {
    const { fence: f, calls } = fence();
    expect(f.verdict(PRIMARY)).toBe('clear');
    f.event('s1', step);
    f.event('s1', step);
    expect(f.active).toBe(true);
    expect(f.verdict(PRIMARY)).toBe('fenced');
    expect(f.verdict(REPLICA)).toBe('fenced');
    // Every sentinel publishes the switch; the first one ends the fence.
    for (const s of ['s1', 's2', 's3']) f.event(s, switched);
    expect(calls).toEqual(['started 7001', 'ended switched']);
    expect(f.active).toBe(false);
    expect(f.verdict(PRIMARY)).toBe('stale');
    expect(f.verdict({ host: '::ffff:127.0.0.1', port: 7001 })).toBe('stale');
    expect(f.verdict(undefined)).toBe('clear');
    // Seen on the new primary: the old one is forgotten.
    expect(f.verdict(REPLICA)).toBe('clear');
    expect(f.verdict(PRIMARY)).toBe('clear');
    f.stop();
  });

  it('an address it cannot compare (a host name) is not held against the client', () => {
    const { fence: f } = fence();
    f.event('s1', { type: 'switch', from: { host: 'redis-a', port: 6379 }, to: REPLICA });
    expect(f.verdict({ host: '10.0.0.1', port: 6379 })).toBe('clear');
    f.stop();
  });

  it('stays while one sentinel still runs a failover that another gave up', () => {
    const { fence: f, calls } = fence();
    f.event('s1', step);
    f.event('s2', step);
    f.event('s2', abort);
    expect(f.verdict(PRIMARY)).toBe('fenced');
    f.event('s3', abort); // not running one: ignored
    f.event('s1', abort);
    expect(f.verdict(PRIMARY)).toBe('clear');
    expect(calls).toEqual(['started 7001', 'ended aborted']);
    f.stop();
  });

  it('ends by itself when no news comes for maxMs', () => {
    vi.useFakeTimers();
    const { fence: f, calls } = fence(1_000);
    f.event('s1', step);
    vi.advanceTimersByTime(999);
    expect(f.active).toBe(true);
    vi.advanceTimersByTime(1);
    expect(f.active).toBe(false);
    expect(calls).toEqual(['started 7001', 'ended expired']);
    // A replaced primary is forgotten after maxMs too.
    f.event('s1', switched);
    expect(f.verdict(PRIMARY)).toBe('stale');
    vi.advanceTimersByTime(1_000);
    expect(f.verdict(PRIMARY)).toBe('clear');
    expect(vi.getTimerCount()).toBe(0);
    f.stop();
  });

  it('stop() leaves no timer, closes its source, and ignores what comes after', () => {
    vi.useFakeTimers();
    const closed: string[] = [];
    let feed: ((sentinel: string, event: FailoverEvent) => void) | undefined;
    const calls: string[] = [];
    const f = new FailoverFence({
      started: () => calls.push('started'),
      ended: () => calls.push('ended'),
      subscribe: (event) => {
        feed = event;
        return { close: () => closed.push('closed') };
      },
    });
    feed?.('s1', step);
    expect(f.active).toBe(true);
    expect(vi.getTimerCount()).toBe(1);
    f.stop();
    f.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(closed).toEqual(['closed']);
    feed?.('s1', step);
    expect(f.active).toBe(false);
    expect(calls).toEqual(['started']);
  });
});

describe('a Sentinel failover (real sentinels)', () => {
  const connections: Connection[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()));
  });
  // Connections on one Sentinel client each, as every package opens them.
  const subscribedOn = async (port: number): Promise<number> =>
    ((await withAdmin(port, (c) => c.call('CLIENT', 'LIST'))) as string)
      .split('\n')
      .filter((line) => /cmd=subscribe/.test(line)).length;

  it('failoverFence (the default): unusable from the first step to the new primary, no acknowledged write lost', async () => {
    const rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
    open.push(() => rs.stop());
    const redis = { sentinels: rs.sentinelAddresses, sentinelName: rs.masterName };
    const leader = rs.sentinels[0]!.port; // the sentinel that rs.failover() asks
    const before = await Promise.all(rs.sentinels.map((s) => subscribedOn(s.port)));

    // What the leading sentinel announces, and when.
    const announced: [string, number][] = [];
    const watcher = new Redis(leader, '127.0.0.1');
    open.push(() => watcher.disconnect());
    await watcher.psubscribe('*');
    watcher.on('pmessage', (_p, channel) => announced.push([channel, performance.now()]));

    const fenced = createConnection({ redis, timeoutMs: 500, logger: false });
    const plain = createConnection({ redis, failoverFence: false, timeoutMs: 500, logger: false });
    connections.push(fenced, plain);
    await Promise.all([fenced.ready({ timeoutMs: 10_000 }), plain.ready({ timeoutMs: 10_000 })]);
    const states: Record<string, [string, number][]> = { fenced: [], plain: [] };
    fenced.on('state', (s) => states.fenced!.push([`${s.to}:${s.reason}`, performance.now()]));
    plain.on('state', (s) => states.plain!.push([`${s.to}:${s.reason}`, performance.now()]));
    // The fence listens on every sentinel (one more subscriber each than ioredis' own).
    await waitFor('the fence to subscribe', async () => {
      const now = await Promise.all(rs.sentinels.map((s) => subscribedOn(s.port)));
      return now.every((n, i) => n === before[i]! + 3);
    });

    // Writes all through the failover, each sent only while the connection is usable.
    let acknowledged = 0;
    let writing = true;
    const writes = (async () => {
      while (writing) {
        if (fenced.state === 'ready') {
          await fenced
            .execute((client) => (client as Redis).incr('writes'))
            .then(
              () => acknowledged++,
              () => {},
            );
        }
        await sleep(2);
      }
    })();
    await sleep(300);
    // While the fence holds, execute() sends nothing: refused at once, typed.
    const refused: unknown[] = [];
    fenced.on('state', (s) => {
      if (s.to === 'unusable') {
        fenced.execute((client) => (client as Redis).incr('writes')).catch((e) => refused.push(e));
      }
    });
    const { to } = await rs.failover();
    await waitFor('the fenced connection on the new primary', () => fenced.state === 'ready', {
      timeoutMs: 10_000,
    });
    await sleep(100);
    writing = false;
    await writes;

    // Every write the connection acknowledged is on the new primary (without the fence, those
    // the old primary took after the promotion, until +switch-master, are lost).
    expect(acknowledged).toBeGreaterThan(0);
    await waitFor('the refusal', () => refused.length === 1);
    expect(refused[0]).toMatchObject({ code: 'E_REDIS_FAILOVER', name: 'RedisFailoverError' });
    expect(Number(await withAdmin(to, (c) => c.get('writes')))).toBe(acknowledged);
    // Unusable before the replica was told to become the primary, usable after the switch.
    const at = (channel: string) => announced.find(([c]) => c === channel)?.[1];
    const [[fence, fencedAt], [back, backAt]] = states.fenced as [
      [string, number],
      [string, number],
    ];
    expect([fence, back]).toEqual(['unusable:sentinel_failover', 'ready:recovered']);
    expect(states.fenced).toHaveLength(2);
    expect(fencedAt).toBeLessThan(at('+failover-state-wait-promotion')!);
    expect(backAt).toBeGreaterThan(at('+switch-master')!);
    // Turned off nothing changes: no fence (the link to the old primary drops at the switch).
    expect(states.plain!.map(([s]) => s)).not.toContain('unusable:sentinel_failover');
    await waitFor('the plain connection on the new primary', () => plain.state === 'ready');

    // close() drops the fence's subscriptions.
    await fenced.close();
    await plain.close();
    await waitFor('the subscriptions to close', async () => {
      const now = await Promise.all(rs.sentinels.map((s) => subscribedOn(s.port)));
      return now.every((n, i) => n === before[i]);
    });
  }, 60_000);
});
