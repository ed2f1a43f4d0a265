import { existsSync } from 'node:fs';
import Redis, { type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis } from './redis-server';

const clients: Redis[] = [];
function connect(url: string, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    lazyConnect: true,
    ...extra,
  });
  client.on('error', () => {});
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});
/** The error a failed connect() reports through the client's 'error' event. */
async function connectError(client: Redis): Promise<Error> {
  const first = new Promise<Error>((resolve) => client.once('error', resolve));
  await client.connect().catch(() => {});
  return first;
}

describe('startRedis', () => {
  it('starts on a free loopback port and answers commands', async () => {
    const redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.port).not.toBe(6379);
    const client = connect(redis.url);
    await client.connect();
    expect(await client.set('k', 'v')).toBe('OK');
    expect(await client.get('k')).toBe('v');
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
  });

  it('two servers started at once get different ports', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    expect(a.port).not.toBe(b.port);
  });

  it('kill() is a SIGKILL: the connection drops and the port refuses', async () => {
    const redis = await startRedis();
    const client = connect(redis.url);
    await client.connect();
    const closed = new Promise((resolve) => client.once('close', resolve));
    await redis.kill();
    await closed;
    expect(redis.stopped).toBe(true);
    const other = connect(redis.url);
    expect((await connectError(other)).message).toMatch(/ECONNREFUSED/);
  });

  it('freeze() leaves the socket open but nothing answers; resume() answers the pending command', async () => {
    const redis = await startRedis();
    const client = connect(redis.url);
    await client.connect();
    await redis.freeze();
    expect(redis.frozen).toBe(true);
    let answered = false;
    const pending = client.ping().then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    await redis.resume();
    expect(await pending).toBe('PONG');
  });

  it('restart() comes back on the same port with empty data', async () => {
    const redis = await startRedis();
    const port = redis.port;
    const before = connect(redis.url);
    await before.connect();
    await before.set('k', 'v');
    await redis.restart();
    expect(redis.port).toBe(port);
    const after = connect(redis.url);
    await after.connect();
    expect(await after.get('k')).toBeNull();
    expect(await after.dbsize()).toBe(0);
  });

  it('stop() ends the process and removes its directory', async () => {
    const redis = await startRedis();
    const pid = redis.pid;
    await redis.stop();
    expect(redis.stopped).toBe(true);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('requires the password when one is set', async () => {
    const redis = await startRedis({ password: 's3cret' });
    expect(redis.url).toBe(`redis://:s3cret@127.0.0.1:${redis.port}`);
    const anon = connect(`redis://127.0.0.1:${redis.port}`, { enableReadyCheck: false });
    await anon.connect();
    await expect(anon.get('k')).rejects.toThrow(/NOAUTH/);
    const authed = connect(redis.url);
    await authed.connect();
    expect(await authed.ping()).toBe('PONG');
  });

  it('creates an ACL user', async () => {
    const redis = await startRedis({ user: { name: 'app', password: 'pw' } });
    const client = connect(redis.url);
    await client.connect();
    expect(await client.call('ACL', 'WHOAMI')).toBe('app');
  });

  it('serves TLS with a throwaway CA', async () => {
    const redis = await startRedis({ tls: true });
    expect(redis.url.startsWith('rediss://')).toBe(true);
    const client = connect(redis.url, { tls: { ca: redis.tls!.caPem } });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    const untrusted = connect(redis.url, { tls: {} });
    expect((await connectError(untrusted)).message).toMatch(/certificate/i);
  });

  it('passes extra arguments', async () => {
    const redis = await startRedis({
      args: ['--maxmemory', '10mb', '--maxmemory-policy', 'allkeys-lru'],
    });
    const client = connect(redis.url);
    await client.connect();
    expect(await client.config('GET', 'maxmemory-policy')).toEqual([
      'maxmemory-policy',
      'allkeys-lru',
    ]);
  });
});
