import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ClusterWatchdog } from './cluster-watchdog.js';
import { classicSubscriber, shardSubscribers } from './ioredis-subscribers.js';

const fake = (shape: object): Cluster => shape as unknown as Cluster;
const connection = {
  status: 'ready',
  ping: () => Promise.resolve('PONG'),
  disconnect: () => {},
  subscribe: () => Promise.resolve(1),
  psubscribe: () => Promise.resolve(1),
  on: () => {},
  off: () => {},
};

describe('reading the subscriber connections of an ioredis Cluster', () => {
  it('finds them on the installed ioredis (lazy cluster, nothing connected)', () => {
    const classic = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const sharded = new Cluster([{ host: '127.0.0.1', port: 1 }], {
      lazyConnect: true,
      shardedSubscribers: true,
    });
    expect(classicSubscriber(classic)).toBeNull(); // supported, no node picked yet
    expect(shardSubscribers(sharded)).toEqual([]);
    expect(ClusterWatchdog.supports(classic, false)).toBe(true);
    expect(ClusterWatchdog.supports(sharded, true)).toBe(true);
    classic.disconnect();
    sharded.disconnect();
  });

  it('returns the connections when the shapes match', () => {
    expect(classicSubscriber(fake({ subscriber: { getInstance: () => connection } }))).toBe(
      connection,
    );
    const map = new Map<string, unknown>([
      ['a', { getInstance: () => connection }],
      ['b', { getInstance: () => null }], // stopped
    ]);
    expect(shardSubscribers(fake({ shardedSubscribers: { shardedSubscribers: map } }))).toEqual([
      connection,
    ]);
  });

  it('answers undefined (unsupported) for any other shape, never throws', () => {
    const throwing = {
      getInstance: () => {
        throw new Error('changed');
      },
    };
    for (const shape of [
      {},
      { subscriber: null },
      { subscriber: {} },
      { subscriber: { getInstance: 42 } },
      { subscriber: throwing },
      { subscriber: { getInstance: () => ({ status: 'ready' }) } }, // not a connection
    ]) {
      expect(classicSubscriber(fake(shape))).toBeUndefined();
      expect(ClusterWatchdog.supports(fake(shape), false)).toBe(false);
    }
    for (const shape of [
      {},
      { shardedSubscribers: {} },
      { shardedSubscribers: { shardedSubscribers: [] } },
      { shardedSubscribers: { shardedSubscribers: new Map([['a', {}]]) } },
      { shardedSubscribers: { shardedSubscribers: new Map([['a', throwing]]) } },
      { shardedSubscribers: { shardedSubscribers: new Map([['a', { getInstance: () => 1 }]]) } },
    ]) {
      expect(shardSubscribers(fake(shape))).toBeUndefined();
      expect(ClusterWatchdog.supports(fake(shape), true)).toBe(false);
    }
  });
});

describe('ClusterWatchdog on an ioredis whose internals differ', () => {
  const host = {
    isDown: () => false,
    lost: () => {},
    restored: () => {},
    resubscribe: () => Promise.resolve(true),
  };
  const options = { sharded: false, intervalMs: 10, timeoutMs: 10 };

  it('does not start when the subscriber connection cannot be found', () => {
    const watchdog = new ClusterWatchdog(fake({}), host, options);
    expect(watchdog.active).toBe(false);
    watchdog.poke(); // no timer, no throw
    watchdog.stop();
  });

  it('stops (leaving the connections to ioredis) when they disappear later', async () => {
    const shape: { subscriber?: unknown } = { subscriber: { getInstance: () => null } };
    const watchdog = new ClusterWatchdog(fake(shape), host, options);
    expect(watchdog.active).toBe(true);
    shape.subscriber = undefined;
    watchdog.poke();
    await new Promise((resolve) => setImmediate(resolve));
    expect(watchdog.active).toBe(false);
  });
});
