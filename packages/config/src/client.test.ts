import { startRedis, waitFor, withAdmin } from '@x/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRedisClient,
  isCluster,
  isRedisClient,
  type RedisClient,
  resolveRedis,
  toClusterOptions,
  toIORedisOptions,
} from './client.js';
import {
  ConfigError,
  isConfigError,
  isRedisNotConnectedError,
  type RedisNotConnectedError,
} from './errors.js';
import { loadConfig } from './load-config.js';
import { waitForReady } from './wait-for-ready.js';

const opened: RedisClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.disconnect();
});
function track<T extends RedisClient>(client: T): T {
  opened.push(client);
  return client;
}
async function ready<T extends RedisClient>(client: T): Promise<T> {
  track(client);
  await waitForReady(client, { timeoutMs: 3_000 });
  return client;
}

/** Collects every error message a client emits (also into the default listener's place). */
function errorsOf(client: RedisClient): string[] {
  const seen: string[] = [];
  client.on('error', (e: Error) => seen.push(`${e.name}: ${e.message} ${e.stack ?? ''}`));
  return seen;
}

describe('toIORedisOptions (pure)', () => {
  it('maps a config to fail-fast ioredis options', () => {
    const o = toIORedisOptions('redis://u:p@h:7000/2');
    expect(o).toMatchObject({
      host: 'h',
      port: 7000,
      username: 'u',
      password: 'p',
      db: 2,
      connectTimeout: 5_000,
      commandTimeout: 3_000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 3,
      autoResendUnfulfilledCommands: false,
      enableReadyCheck: true,
      keepAlive: 10_000,
      enableAutoPipelining: false,
    });
    expect(o.tls).toBeUndefined();
    const strategy = o.retryStrategy!;
    for (let times = 1; times < 50; times++) {
      const d = strategy(times) as number;
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(500);
    }
    expect(
      (o.reconnectOnError as (e: Error) => unknown)(new Error('READONLY You cannot write')),
    ).toBe(1);
    expect((o.reconnectOnError as (e: Error) => unknown)(new Error('WRONGTYPE'))).toBe(false);
  });

  it('maps sentinel and cluster configs', () => {
    const s = toIORedisOptions({
      sentinels: 'a:1,b:2',
      sentinelName: 'm',
      sentinelPassword: 'sp',
      db: 1,
    });
    expect(s).toMatchObject({
      sentinels: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      name: 'm',
      role: 'master',
      sentinelPassword: 'sp',
      db: 1,
    });
    expect(s.host).toBeUndefined();
    expect(typeof s.sentinelRetryStrategy).toBe('function');
    const { startupNodes, options } = toClusterOptions({
      clusterMode: true,
      clusterNodes: 'n1:7000,n2:7001',
      password: 'pw',
      readReplicas: true,
    });
    expect(startupNodes).toEqual([
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
    ]);
    expect(options).toMatchObject({
      enableOfflineQueue: false,
      enableReadyCheck: true,
      scaleReads: 'slave',
      redisOptions: {
        password: 'pw',
        commandTimeout: 3_000,
        connectTimeout: 5_000,
        maxRetriesPerRequest: 3,
      },
    });
    expect(typeof options.clusterRetryStrategy).toBe('function');
    expect(() => toClusterOptions('redis://h:1')).toThrow(/must be 'cluster'/);
  });

  it('throws a ConfigError for an invalid config, with the URL password redacted', () => {
    let caught: unknown;
    try {
      createRedisClient('redis://admin:n0t-for-logs@h:1/abc');
    } catch (error) {
      caught = error;
    }
    expect(isConfigError(caught)).toBe(true);
    expect((caught as ConfigError).message).toContain('redis://admin:***@h:1/abc');
    expect((caught as ConfigError).message).not.toContain('n0t-for-logs');
  });

  it('reports an unreadable TLS file at creation', () => {
    expect(() => toIORedisOptions({ tls: { caFile: '/' } })).toThrow(/tls.caFile: file not found/);
  });
});

describe('createRedisClient (real redis-server)', () => {
  it('standalone: works, applies the overrides, owns nothing else', async () => {
    const server = await startRedis();
    const client = await ready(createRedisClient(server.url, { connectionName: 'x-config-test' }));
    expect(client).toBeInstanceOf(Redis);
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    expect(await (client as Redis).client('GETNAME')).toBe('x-config-test');
    expect(client.options.enableOfflineQueue).toBe(false);
    expect(client.listenerCount('error')).toBe(1);
  });

  it('password (requirepass) and a wrong password that never leaks', async () => {
    const server = await startRedis({ password: 'Corr3ct-Horse' });
    const client = await ready(createRedisClient(server.url));
    expect(await client.ping()).toBe('PONG');
    const wrong = track(createRedisClient({ url: server.url, password: 'Wr0ng-Battery' }));
    const errors = errorsOf(wrong);
    const failure = await wrong.ping().catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    await waitFor('auth error', () => errors.length > 0, { timeoutMs: 2_000 });
    expect(errors.join('\n')).toMatch(/WRONGPASS|NOAUTH|invalid/);
    // Once an attempt failed, a command says why instead of "Stream isn't writeable".
    const explained = (await wrong.ping().catch((e: unknown) => e)) as RedisNotConnectedError;
    expect(isRedisNotConnectedError(explained)).toBe(true);
    expect(explained.message).not.toContain("Stream isn't writeable");
    expect(explained.message).toMatch(
      /^\[@x\/config\] not connected to Redis at 127\.0\.0\.1:\d+ \(\w+\); the last connection attempt failed: WRONGPASS invalid username-password pair or user is disabled \(the user name or password is wrong, or the user is disabled: check REDIS_USERNAME \/ REDIS_PASSWORD or the user:password of REDIS_URL\)$/,
    );
    expect((explained.cause as Error).message).toMatch(/^WRONGPASS/);
    for (const text of [
      ...errors,
      String(failure),
      (failure as Error).stack ?? '',
      explained.message,
      explained.stack ?? '',
    ]) {
      expect(text).not.toContain('Wr0ng-Battery');
      expect(text).not.toContain('Corr3ct-Horse');
    }
  });

  it('ACL user from the URL', async () => {
    const server = await startRedis({ user: { name: 'app', password: 'app-pw' } });
    const client = await ready(createRedisClient(server.url));
    expect(await (client as Redis).call('ACL', 'WHOAMI')).toBe('app');
  });

  it('TLS: rediss:// with the CA file, also via REDIS_TLS_CA_FILE; untrusted without it', async () => {
    const server = await startRedis({ tls: true });
    expect(server.url.startsWith('rediss://')).toBe(true);
    const direct = await ready(
      createRedisClient({ url: server.url, tls: { caFile: server.tls!.ca } }),
    );
    expect(await direct.ping()).toBe('PONG');
    const fromEnv = await ready(
      createRedisClient(
        loadConfig({
          env: {
            REDIS_URL: server.url.replace('rediss://', 'redis://'),
            REDIS_TLS: 'true',
            REDIS_TLS_CA_FILE: server.tls!.ca,
          },
        }),
      ),
    );
    expect(await fromEnv.ping()).toBe('PONG');
    const untrusted = track(createRedisClient(server.url));
    const errors = errorsOf(untrusted);
    await waitFor(
      'a certificate error',
      () => errors.some((e) => /certificate|self.signed/i.test(e)),
      {
        timeoutMs: 3_000,
      },
    );
    await expect(untrusted.ping()).rejects.toThrow();
  });

  it('down at start: returns at once, commands reject fast, no unhandled error, picks Redis up', async () => {
    const server = await startRedis();
    await server.kill();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('uncaughtException', onUnhandled);
    process.on('unhandledRejection', onUnhandled);
    try {
      let blocked = 0;
      const tick = setInterval(() => {
        blocked += 1;
      }, 5);
      const t0 = performance.now();
      const client = track(createRedisClient(server.url));
      const created = performance.now() - t0;
      expect(created).toBeLessThan(50);
      const t1 = performance.now();
      const error = await client.get('k').catch((e: Error) => e);
      const rejectedIn = performance.now() - t1;
      expect(isRedisNotConnectedError(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /^\[@x\/config\] not connected to Redis at 127\.0\.0\.1:\d+ \((connecting|reconnecting)\)/,
      );
      expect(rejectedIn).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 150));
      clearInterval(tick);
      expect(blocked).toBeGreaterThan(5);
      expect(client.status).not.toBe('end');
      // Redis comes up: the short jittered reconnect picks it up within about half a second.
      await server.restart();
      const t2 = performance.now();
      await waitFor('ready', () => client.status === 'ready', { timeoutMs: 2_000, intervalMs: 5 });
      const pickedUpIn = performance.now() - t2;
      expect(pickedUpIn).toBeLessThan(1_000);
      expect(await client.ping()).toBe('PONG');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('uncaughtException', onUnhandled);
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a command in flight when the connection drops rejects at once, not at commandTimeout', async () => {
    const server = await startRedis();
    const client = await ready(createRedisClient({ url: server.url, commandTimeoutMs: 5_000 }));
    const id = await (client as Redis).client('ID');
    const t0 = performance.now();
    const pending = (client as Redis).blpop('never-filled', 0).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await withAdmin(server.port, (c) => c.call('CLIENT', 'KILL', 'ID', String(id)));
    const error = (await pending) as RedisNotConnectedError;
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(isRedisNotConnectedError(error)).toBe(true);
    expect(error.message).toBe(
      `[@x/config] the connection to Redis at 127.0.0.1:${server.port} closed while the command was in flight: it may or may not have run (send it again only if running it twice is harmless); the client reconnects by itself`,
    );
    await waitFor('reconnected', () => client.status === 'ready', { timeoutMs: 2_000 });
    expect(await client.ping()).toBe('PONG');
  });

  it('a frozen server: commands are bounded by commandTimeout', async () => {
    const server = await startRedis();
    const client = await ready(createRedisClient({ url: server.url, commandTimeoutMs: 150 }));
    expect(await client.ping()).toBe('PONG');
    await server.freeze();
    const t0 = performance.now();
    await expect(client.get('k')).rejects.toThrow(/timed out/i);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(600);
    await server.resume();
  });
});

describe('waitForReady', () => {
  it('resolves when ready; rejects with the reason on timeout, abort or end', async () => {
    const server = await startRedis();
    const client = track(createRedisClient(server.url));
    await expect(waitForReady(client)).resolves.toBeUndefined();
    await expect(waitForReady(client, { timeoutMs: 1 })).resolves.toBeUndefined();
    await server.kill();
    const down = track(createRedisClient(server.url));
    const t0 = performance.now();
    const timedOut = await waitForReady(down, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(300);
    expect(isRedisNotConnectedError(timedOut)).toBe(true);
    const error = timedOut as RedisNotConnectedError;
    expect(error.code).toBe('E_REDIS_NOT_CONNECTED');
    expect(error.name).toBe('RedisNotConnectedError');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(error.message).toBe(
      `[@x/config] Redis at 127.0.0.1:${server.port} is not ready after 100 ms (${down.status}); the last connection attempt failed: connect ECONNREFUSED 127.0.0.1:${server.port} (nothing accepts connections at 127.0.0.1:${server.port}: start Redis there, or fix the host and port (REDIS_URL, REDIS_HOST, REDIS_PORT))`,
    );
    const controller = new AbortController();
    const waiting = waitForReady(down, { timeoutMs: 10_000, signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    // disconnect() while ioredis waits to reconnect emits no 'end' (there is no socket to close);
    // while it is connecting, it does. Either way the wait is over by its deadline, and its
    // listeners are gone.
    const listeners = [down.listenerCount('ready'), down.listenerCount('end')];
    // Its rejection is taken at once (it may come while the test awaits the other client).
    const ending = waitForReady(down, { timeoutMs: 300 }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    );
    down.disconnect();
    const ended = new Redis({ lazyConnect: true, port: server.port, retryStrategy: () => null });
    ended.on('error', () => {});
    const endWait = waitForReady(ended, { timeoutMs: 10_000 });
    await ended.connect().catch(() => undefined);
    await expect(endWait).rejects.toThrow(/is closed .*create a new client.*ECONNREFUSED/);
    const endingError = await ending;
    expect(isRedisNotConnectedError(endingError)).toBe(true);
    expect((endingError as Error).message).toMatch(/E|not ready|closed/);
    expect([down.listenerCount('ready'), down.listenerCount('end')]).toEqual(listeners);
    expect(() => waitForReady(down, { timeoutMs: 0 })).toThrow(/timeoutMs: must be a positive/);
  });

  it('rejects at once on a wrong password, with the server words and what to check', async () => {
    const server = await startRedis({ password: 'Corr3ct-Horse' });
    const client = track(createRedisClient({ url: server.url, password: 'Wr0ng-Battery' }));
    const t0 = performance.now();
    const error = (await waitForReady(client, { timeoutMs: 5_000 }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    )) as RedisNotConnectedError;
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(isRedisNotConnectedError(error)).toBe(true);
    expect(error.message).toMatch(
      /^\[@x\/config\] Redis at 127\.0\.0\.1:\d+ is not ready after 5000 ms|^\[@x\/config\] not connected/,
    );
    expect(error.message).toContain('WRONGPASS invalid username-password pair');
    expect(error.message).toContain('check REDIS_USERNAME / REDIS_PASSWORD');
    expect((error.cause as Error).message).toMatch(/^WRONGPASS/);
    expect(error.message).not.toContain('Wr0ng-Battery');
  });
});

describe('resolveRedis / isRedisClient / isCluster', () => {
  it('uses a given client as is (not owned) and creates one otherwise (owned)', async () => {
    const server = await startRedis();
    const mine = track(new Redis(server.url, { lazyConnect: true }));
    expect(resolveRedis(mine)).toEqual({ client: mine, owned: false });
    const created = resolveRedis(server.url, { ioredis: { connectionName: 'resolved' } });
    await ready(created.client);
    expect(created.owned).toBe(true);
    expect(created.client).not.toBe(mine);
    expect(await (created.client as Redis).client('GETNAME')).toBe('resolved');
    const fromConfig = resolveRedis({ url: server.url, db: 1 });
    track(fromConfig.client);
    expect(fromConfig.owned).toBe(true);
    expect(() => resolveRedis({ port: 0 })).toThrow(ConfigError);
  });

  it('recognises clients by shape', () => {
    const redis = new Redis({ lazyConnect: true });
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(isRedisClient(redis)).toBe(true);
    expect(isRedisClient(cluster)).toBe(true);
    expect(isCluster(cluster)).toBe(true);
    expect(isCluster(redis)).toBe(false);
    expect(isRedisClient({ status: 'ready' })).toBe(false);
    expect(isRedisClient('redis://h')).toBe(false);
    expect(isRedisClient(null)).toBe(false);
    // a client from another copy of ioredis: same shape, different class
    const foreign = { sendCommand() {}, on() {}, status: 'ready', isCluster: false };
    expect(isRedisClient(foreign)).toBe(true);
    redis.disconnect();
    cluster.disconnect();
  });
});
