import Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy } from './fault-proxy';
import { startRedis } from './redis-server';

const clients: Redis[] = [];
function connect(url: string): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  client.on('error', () => {});
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

describe('startFaultProxy', () => {
  it('passes traffic through', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    const client = connect(proxy.url);
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    expect(proxy.connections).toBe(1);
  });

  it('adds latency', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    const client = connect(proxy.url);
    await client.connect();
    proxy.latency(150);
    const start = performance.now();
    expect(await client.ping()).toBe('PONG');
    // one delay each way
    expect(performance.now() - start).toBeGreaterThanOrEqual(290);
  });

  it('blackholes: the connection stays open and commands never answer until pass()', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    const client = connect(proxy.url);
    await client.connect();
    proxy.blackhole();
    let answered = false;
    client.set('lost', '1').then(
      () => {
        answered = true;
      },
      () => {},
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    expect(client.status).toBe('ready');
    // The blackholed command never reached Redis.
    const direct = connect(redis.url);
    await direct.connect();
    expect(await direct.get('lost')).toBeNull();
    // New connections are accepted but get no answer either.
    const late = connect(proxy.url);
    let lateReady = false;
    late.connect().then(
      () => {
        lateReady = true;
      },
      () => {},
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(lateReady).toBe(false);
    // When the path heals, what was held is delivered, as TCP would.
    proxy.pass();
    expect(await client.ping()).toBe('PONG');
    expect(await direct.get('lost')).toBe('1');
  });

  it('blackholed commands hit a client-side timeout', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    const client = connect(proxy.url);
    await client.connect();
    proxy.blackhole();
    const timed = new Redis(proxy.url, {
      commandTimeout: 100,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    timed.on('error', () => {});
    clients.push(timed);
    proxy.pass();
    await timed.connect();
    proxy.blackhole();
    await expect(timed.get('k')).rejects.toThrow(/timed out/i);
  });

  it('reset() drops open connections with an error and resets new ones', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    const client = connect(proxy.url);
    await client.connect();
    const closed = new Promise((resolve) => client.once('close', resolve));
    proxy.reset();
    await closed;
    expect(proxy.connections).toBe(0);
    const fresh = connect(proxy.url);
    await expect(fresh.connect()).rejects.toThrow(/ECONNRESET|Connection is closed/);
    proxy.pass();
    const again = connect(proxy.url);
    await again.connect();
    expect(await again.ping()).toBe('PONG');
  });

  it('follows its target across a restart', async () => {
    const redis = await startRedis();
    const proxy = await startFaultProxy({ target: redis });
    await redis.restart();
    const client = connect(proxy.url);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
  });
});
