import { startRedis, waitFor } from '@x/testkit';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  classicSubscriber,
  corkUntilNextTick,
  dropConnection,
  remoteEndpoint,
  resetSockets,
  shardSubscribers,
} from './ioredis-adapter.js';

// These read what ioredis keeps outside its public API: the suite runs them on ioredis 5 and 6.
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

describe('the subscriber connections of an ioredis Cluster', () => {
  it('are found on the installed ioredis (lazy cluster, nothing connected)', () => {
    const classic = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const sharded = new Cluster([{ host: '127.0.0.1', port: 1 }], {
      lazyConnect: true,
      shardedSubscribers: true,
    });
    expect(classicSubscriber(classic)).toBeNull(); // supported, no node picked yet
    expect(shardSubscribers(sharded)).toEqual([]);
    classic.disconnect();
    sharded.disconnect();
  });

  it('are returned when the shapes match', () => {
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

  it('are undefined (unsupported) for any other shape, never a throw', () => {
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
    }
  });
});

describe('sockets', () => {
  it('dropConnection closes a frozen link at once; resetSockets makes the client reconnect', async () => {
    const server = await startRedis();
    const client = new Redis(server.url, { retryStrategy: () => 50 });
    await waitFor('ready', () => client.status === 'ready');
    let closes = 0;
    client.on('close', () => closes++);
    await server.freeze();
    const started = performance.now();
    dropConnection(client, true);
    await waitFor('closed', () => closes === 1, { timeoutMs: 1_000 });
    expect(performance.now() - started).toBeLessThan(200);
    await server.resume();
    await waitFor('ready again', () => client.status === 'ready', { timeoutMs: 2_000 });
    resetSockets(client);
    await waitFor('closed again', () => closes === 2, { timeoutMs: 1_000 });
    await waitFor('ready again', () => client.status === 'ready', { timeoutMs: 2_000 });
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('remoteEndpoint says which node a client is connected to, undefined when it cannot', async () => {
    const server = await startRedis();
    const client = new Redis(server.url);
    await waitFor('ready', () => client.status === 'ready');
    expect(remoteEndpoint(client)).toEqual({ host: '127.0.0.1', port: server.port });
    const lazy = new Redis(server.url, { lazyConnect: true });
    expect(remoteEndpoint(lazy)).toBeUndefined(); // no socket yet
    expect(remoteEndpoint(new Cluster([], { lazyConnect: true }))).toBeUndefined();
    expect(remoteEndpoint(fake({ stream: { remoteAddress: 1, remotePort: '2' } }))).toBeUndefined();
    client.disconnect();
    lazy.disconnect();
  });

  it('corkUntilNextTick batches the writes of one tick and changes no result', async () => {
    const server = await startRedis();
    const client = new Redis(server.url);
    await waitFor('ready', () => client.status === 'ready');
    expect(corkUntilNextTick(client)).toBe(true);
    const replies = await Promise.all([client.set('a', '1'), client.incr('a'), client.get('a')]);
    expect(replies).toEqual(['OK', 2, '2']);
    expect(corkUntilNextTick(new Cluster([], { lazyConnect: true }))).toBe(false);
    client.disconnect();
  });
});
