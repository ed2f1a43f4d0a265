import { connect } from 'node:net';
import { startCluster, startRedis, startReplicaSet, waitFor, withAdmin } from '@x/testkit';
import { type Cluster, Redis } from 'ioredis';
import { Redis as Redis6 } from 'ioredis6';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisClient, type RedisClient } from './client.js';
import { type Credentials, type CredentialsContext, credentialsConnector } from './credentials.js';
import {
  type CredentialsRefresh,
  type CredentialsRefreshFailure,
  trackCredentials,
} from './credentials-tracker.js';
import {
  type CredentialsError,
  isConfigError,
  isCredentialsError,
  isRedisNotConnectedError,
  type RedisNotConnectedError,
} from './errors.js';
import { waitForReady } from './wait-for-ready.js';

const opened: { disconnect(): void }[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.disconnect();
});
function track<T extends { disconnect(): void }>(client: T): T {
  opened.push(client);
  return client;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function acl(port: number, ...args: string[]): Promise<unknown> {
  return withAdmin(port, (c) => c.call('ACL', ...args));
}
async function addUser(port: number, name: string, ...passwords: string[]): Promise<void> {
  await acl(port, 'SETUSER', name, 'on', ...passwords.map((p) => `>${p}`), '~*', '&*', '+@all');
}
/** A server with the ACL user `app` (password `pw`), and a client whose provider returns it. */
async function appClient(options: { credentialsRefreshMs?: string } = {}) {
  const server = await startRedis();
  await addUser(server.port, 'app', 'pw');
  const client = track(
    createRedisClient({
      url: `redis://app@127.0.0.1:${server.port}`,
      credentials: () => ({ password: 'pw' }),
      ...options,
    }),
  );
  return { server, client };
}
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
const whoami = (c: RedisClient | Redis6): Promise<unknown> => c.call('ACL', 'WHOAMI');

/** A provider that counts its calls and returns what `next` says. */
function provider(next: () => Credentials | Promise<Credentials>) {
  const calls: CredentialsContext[] = [];
  const fn = (context: CredentialsContext): Credentials | Promise<Credentials> => {
    calls.push(context);
    return next();
  };
  return { fn, calls };
}

describe('credentialsConnector: every connection authenticates with the provider', () => {
  it('new connections, reconnections and duplicates call the provider; ioredis sends no AUTH', async () => {
    const server = await startRedis();
    await addUser(server.port, 'app', 'pw-1');
    const p = provider(() => ({ password: 'pw-1' }));
    const client = track(
      createRedisClient({
        url: `redis://127.0.0.1:${server.port}`,
        username: 'app',
        credentials: p.fn,
      }),
    ) as Redis;
    await waitForReady(client, { timeoutMs: 3_000 });
    expect(await whoami(client)).toBe('app');
    // ioredis' defaults: no password, no user (so it sends no AUTH of its own).
    expect(client.options.password ?? null).toBeNull();
    expect(client.options.username ?? null).toBeNull();
    expect(p.calls).toHaveLength(1);
    expect(p.calls[0]!.address).toBe(`127.0.0.1:${server.port}`);
    expect(p.calls[0]!.signal).toBeInstanceOf(AbortSignal);
    const id = await client.client('ID');
    await withAdmin(server.port, (c) => c.call('CLIENT', 'KILL', 'ID', String(id)));
    await waitFor(
      'a new connection',
      async () => (await client.client('ID').catch(() => id)) !== id,
    );
    // CLIENT is allowed during the handshake (ioredis sends it before ready): wait for the end of
    // the handshake before a command that is not.
    await waitForReady(client, { timeoutMs: 3_000 });
    expect(await whoami(client)).toBe('app');
    expect(p.calls.length).toBe(2);
    const copy = track(client.duplicate());
    await waitForReady(copy, { timeoutMs: 3_000 });
    expect(await whoami(copy)).toBe('app');
    expect(p.calls.length).toBe(3);
    // One AUTH per connection, all from the connector (ioredis adds none).
    const info = await withAdmin(server.port, (c) => c.info('commandstats'));
    expect(Number(/cmdstat_auth:calls=(\d+)/.exec(info)?.[1])).toBe(3);
  });

  it('a provider that throws: waitForReady and commands say so at once; fixed, the client connects', async () => {
    const server = await startRedis();
    await addUser(server.port, 'app', 'pw');
    let broken = true;
    const client = track(
      createRedisClient({
        url: `redis://app@127.0.0.1:${server.port}`,
        credentials: () => {
          if (broken) throw new Error('token service unavailable');
          return { password: 'pw' };
        },
      }),
    );
    const t0 = performance.now();
    const error = (await rejection(
      waitForReady(client, { timeoutMs: 5_000 }),
    )) as RedisNotConnectedError;
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(isRedisNotConnectedError(error)).toBe(true);
    const cause = error.cause as CredentialsError;
    expect(isCredentialsError(cause)).toBe(true);
    expect(cause.code).toBe('E_CREDENTIALS_PROVIDER');
    expect(cause.name).toBe('CredentialsError');
    expect((cause.cause as Error).message).toBe('token service unavailable');
    expect(error.message).toBe(
      `[@x/config] not connected to Redis at 127.0.0.1:${server.port} (${error.status}); the last connection attempt failed: the credentials provider threw for 127.0.0.1:${server.port}: token service unavailable (fix the provider; the connection attempt is retried with a new call)`,
    );
    const command = (await rejection(client.get('k'))) as RedisNotConnectedError;
    expect(isRedisNotConnectedError(command)).toBe(true);
    expect((command.cause as CredentialsError).code).toBe('E_CREDENTIALS_PROVIDER');
    broken = false;
    await waitFor('ready', () => client.status === 'ready', { timeoutMs: 3_000 });
    expect(await whoami(client)).toBe('app');
  });

  it('a provider that never answers fails the attempt by connectTimeout, never hangs', async () => {
    const server = await startRedis();
    const client = track(
      createRedisClient({
        url: `redis://127.0.0.1:${server.port}`,
        connectTimeoutMs: 300,
        credentials: () => new Promise<Credentials>(() => {}),
      }),
    );
    const t0 = performance.now();
    const error = (await rejection(
      waitForReady(client, { timeoutMs: 5_000 }),
    )) as RedisNotConnectedError;
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1_500);
    const cause = error.cause as CredentialsError;
    expect(cause.code).toBe('E_CREDENTIALS_PROVIDER');
    expect(cause.message).toBe(
      `[@x/config] the credentials provider did not return within 300 ms (connectTimeout) for 127.0.0.1:${server.port}: make it answer faster, or raise connectTimeoutMs`,
    );
    expect(client.status).not.toBe('end');
  });

  it('what the provider returns is checked; rejected credentials carry the server words', async () => {
    const server = await startRedis();
    await addUser(server.port, 'app', 'right');
    const invalid = track(
      createRedisClient({
        url: `redis://127.0.0.1:${server.port}`,
        credentials: () => ({ username: 'app' }) as unknown as Credentials,
      }),
    );
    const bad = (await rejection(waitForReady(invalid))) as RedisNotConnectedError;
    expect((bad.cause as Error).message).toBe(
      `[@x/config] the credentials provider returned no password (password: undefined) for 127.0.0.1:${server.port}: it must return { username?, password, expiresAt? }`,
    );
    const wrong = track(
      createRedisClient({
        url: `redis://127.0.0.1:${server.port}`,
        credentials: () => ({ username: 'app', password: 'Wr0ng-Token' }),
      }),
    );
    const refused = (await rejection(waitForReady(wrong))) as RedisNotConnectedError;
    const cause = refused.cause as CredentialsError;
    expect(cause.code).toBe('E_CREDENTIALS_REJECTED');
    expect(cause.serverMessage).toBe(
      'WRONGPASS invalid username-password pair or user is disabled.',
    );
    expect(cause.message).toBe(
      `[@x/config] Redis at 127.0.0.1:${server.port} refused the credentials from the credentials provider (user "app"): WRONGPASS invalid username-password pair or user is disabled.`,
    );
    expect(refused.message).toContain('check the user, the token or password it returns');
    for (const text of [refused.message, cause.message, refused.stack ?? '']) {
      expect(text).not.toContain('Wr0ng-Token');
    }
  });

  it('a static password next to credentials is a ConfigError; so is a non-function', () => {
    let caught: unknown;
    try {
      createRedisClient({ url: 'redis://:static@h:1', credentials: () => ({ password: 'x' }) });
    } catch (error) {
      caught = error;
    }
    expect(isConfigError(caught)).toBe(true);
    expect((caught as Error).message).toContain(
      'password: is given together with credentials: the credentials provider supplies the password',
    );
    expect((caught as Error).message).not.toContain('static');
    expect(() => createRedisClient({ credentials: 'pw' as never })).toThrow(
      /credentials: must be a function returning \{ username\?, password, expiresAt\? \}/,
    );
    expect(() => createRedisClient({ credentialsRefreshMs: '1m' })).toThrow(
      /credentialsRefreshMs: only used with credentials/,
    );
    expect(() =>
      createRedisClient({ credentials: () => ({ password: 'x' }), credentialsRefreshMs: 'soon' }),
    ).toThrow(/credentialsRefreshMs: must be a duration/);
  });
});

describe('re-authentication of open connections', () => {
  it('before expiresAt: the same connection switches to the new user, no call fails', async () => {
    const server = await startRedis();
    for (let i = 1; i <= 6; i++) await addUser(server.port, `app-${i}`, 'pw');
    let generation = 0;
    const lifetimeMs = 500;
    const p = provider(() => {
      generation += 1;
      return { username: `app-${generation}`, password: 'pw', expiresAt: Date.now() + lifetimeMs };
    });
    const client = track(
      createRedisClient({ url: `redis://127.0.0.1:${server.port}`, credentials: p.fn }),
    );
    await waitForReady(client, { timeoutMs: 3_000 });
    const tracker = trackCredentials(client);
    const refreshes: { at: number; event: CredentialsRefresh }[] = [];
    tracker.on('refresh', (event) => refreshes.push({ at: performance.now(), event }));
    const id = await (client as Redis).client('ID');
    expect(await whoami(client)).toBe('app-1');
    const t0 = performance.now();
    let calls = 0;
    while (refreshes.length < 2) {
      expect(await client.incr('n')).toBe(++calls);
      await sleep(5);
    }
    // 80 % of the lifetime, not earlier.
    expect(refreshes[0]!.at - t0).toBeGreaterThanOrEqual(lifetimeMs * 0.8 - 120);
    expect(refreshes[0]!.event).toMatchObject({ connections: 1, skipped: 0 });
    expect(await whoami(client)).toBe('app-3');
    expect(await (client as Redis).client('ID')).toBe(id);
    expect(tracker.stats()).toMatchObject({ refreshes: 2, failures: 0, lastError: undefined });
    expect(tracker.stats().nextRefreshAt).toBeGreaterThan(Date.now());
  });

  it('every credentialsRefreshMs without an expiry; trackCredentials returns the same tracker', async () => {
    const { client } = await appClient({ credentialsRefreshMs: '100ms' });
    await waitForReady(client, { timeoutMs: 3_000 });
    const tracker = trackCredentials(client);
    expect(trackCredentials(client)).toBe(tracker);
    await waitFor('three rounds', () => tracker.stats().refreshes >= 3, { timeoutMs: 2_000 });
    expect(tracker.stats().failures).toBe(0);
  });

  it('a failing refresh keeps the connection serving, is reported, and is retried', async () => {
    const server = await startRedis();
    await addUser(server.port, 'app', 'old');
    let mode: 'ok' | 'throw' | 'wrong' = 'ok';
    const client = track(
      createRedisClient({
        url: `redis://app@127.0.0.1:${server.port}`,
        credentialsRefreshMs: 100,
        credentials: () => {
          if (mode === 'throw') throw new Error('vault sealed');
          return { password: mode === 'ok' ? 'old' : 'not-the-password' };
        },
      }),
    );
    await waitForReady(client, { timeoutMs: 3_000 });
    const tracker = trackCredentials(client);
    const failures: CredentialsRefreshFailure[] = [];
    tracker.on('refresh-failed', (f) => failures.push(f));
    mode = 'throw';
    await waitFor('a failed round', () => failures.length >= 1, { timeoutMs: 2_000 });
    expect((failures[0]!.error as CredentialsError).code).toBe('E_CREDENTIALS_PROVIDER');
    expect(failures[0]!.attempt).toBe(1);
    expect(failures[0]!.retryInMs).toBeGreaterThanOrEqual(200);
    expect(await client.set('still', 'serving')).toBe('OK');
    mode = 'wrong';
    await waitFor(
      'a refused round',
      () => failures.some((f) => (f.error as CredentialsError).code === 'E_CREDENTIALS_REJECTED'),
      { timeoutMs: 5_000 },
    );
    const refused = failures.find(
      (f) => (f.error as CredentialsError).code === 'E_CREDENTIALS_REJECTED',
    )!;
    expect((refused.error as CredentialsError).serverMessage).toMatch(/^WRONGPASS/);
    expect(refused.error.message).not.toContain('not-the-password');
    // A refused AUTH leaves the connection authenticated as before.
    expect(await whoami(client)).toBe('app');
    expect(tracker.stats().lastError).toBe(failures.at(-1)!.error);
    mode = 'ok';
    const before = tracker.stats().refreshes;
    await waitFor('a good round again', () => tracker.stats().refreshes > before, {
      timeoutMs: 15_000,
    });
    expect(tracker.stats().lastError).toBeUndefined();
  });

  it('stops with the client; refuses a client without the connector', async () => {
    const server = await startRedis();
    const client = createRedisClient({
      url: `redis://127.0.0.1:${server.port}`,
      credentials: () => ({ password: 'unused', expiresAt: Date.now() + 60_000 }),
    });
    await waitForReady(client, { timeoutMs: 3_000 }).catch(() => {});
    const tracker = trackCredentials(client);
    client.disconnect();
    await waitFor('closed', () => tracker.closed);
    expect(tracker.stats().nextRefreshAt).toBeUndefined();
    const plain = track(new Redis({ port: server.port, lazyConnect: true }));
    expect(() => trackCredentials(plain)).toThrow(
      /client: does not authenticate through credentialsConnector/,
    );
  });
});

describe('what Redis 7.0 allows (raw RESP, no client library in between)', () => {
  /** Sends commands on one raw connection; returns each reply's first line. */
  async function raw(port: number, commands: string[][]): Promise<string[]> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const replies: string[] = [];
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
    });
    for (const args of commands) {
      buffer = '';
      socket.write(
        `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
      );
      await waitFor('a reply', () => buffer.includes('\r\n'), { timeoutMs: 2_000 });
      await sleep(20);
      replies.push(buffer.split('\r\n')[0]!);
    }
    socket.destroy();
    return replies;
  }

  it('AUTH is refused in RESP2 subscribed state and accepted in RESP3', async () => {
    const server = await startRedis({ user: { name: 'app', password: 'pw' } });
    const resp2 = await raw(server.port, [
      ['AUTH', 'app', 'pw'],
      ['SUBSCRIBE', 'c'],
      ['AUTH', 'app', 'pw'],
    ]);
    expect(resp2[2]).toBe(
      "-ERR Can't execute 'auth': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
    );
    const resp3 = await raw(server.port, [
      ['HELLO', '3', 'AUTH', 'app', 'pw'],
      ['SUBSCRIBE', 'c'],
      ['AUTH', 'app', 'pw'],
    ]);
    expect(resp3[2]).toBe('+OK');
  });

  it('an authenticated connection survives the removal of its password and `off`; DELUSER closes it', async () => {
    const server = await startRedis();
    await addUser(server.port, 'app', 'old');
    const client = track(
      new Redis({ port: server.port, username: 'app', password: 'old', retryStrategy: () => null }),
    );
    client.on('error', () => {});
    await client.ping();
    await acl(server.port, 'SETUSER', 'app', 'resetpass', '>new');
    expect(await client.ping()).toBe('PONG');
    expect(await whoami(client)).toBe('app');
    await expect(client.call('AUTH', 'app', 'old')).rejects.toThrow(/^WRONGPASS/);
    expect(await whoami(client)).toBe('app');
    await acl(server.port, 'SETUSER', 'app', 'off');
    expect(await client.ping()).toBe('PONG');
    await acl(server.port, 'DELUSER', 'app');
    await waitFor('closed', () => client.status === 'end', { timeoutMs: 2_000 });
  });
});

describe('subscribers', () => {
  it('RESP2 (ioredis 5, or 6 with protocol 2): a subscribed duplicate is skipped and keeps receiving', async () => {
    const client = (await appClient()).client as Redis;
    await waitForReady(client, { timeoutMs: 3_000 });
    // RESP2 on either major (ioredis 5 has no protocol option and ignores it).
    const subscriber = track(client.duplicate({ ...({ protocol: 2 } as object) }));
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await waitForReady(subscriber, { timeoutMs: 3_000 });
    await subscriber.subscribe('news');
    expect(subscriber.mode).toBe('subscriber');
    const tracker = trackCredentials(subscriber);
    const refreshed = new Promise<CredentialsRefresh>((r) => tracker.once('refresh', r));
    await tracker.refresh();
    expect(await refreshed).toMatchObject({ connections: 0, skipped: 1 });
    await client.publish('news', 'hello');
    await waitFor('the message', () => received.length === 1);
    expect(received).toEqual(['hello']);
  });

  it('RESP3 (ioredis 6): subscribed connections re-authenticate', async () => {
    const server = await startRedis();
    await addUser(server.port, 'app-1', 'pw');
    await addUser(server.port, 'app-2', 'pw');
    let user = 'app-1';
    const Connector = credentialsConnector(() => ({ username: user, password: 'pw' }));
    const subscriber = track(
      new Redis6({ port: server.port, Connector: Connector as never, retryStrategy: () => 50 }),
    );
    subscriber.on('error', () => {});
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe('news');
    expect(subscriber.mode).toBe('normal');
    const tracker = trackCredentials(subscriber as never);
    user = 'app-2';
    const refreshed = new Promise<CredentialsRefresh>((r) => tracker.once('refresh', r));
    await tracker.refresh();
    expect(await refreshed).toMatchObject({ connections: 1, skipped: 0 });
    expect(await subscriber.call('ACL', 'WHOAMI')).toBe('app-2');
    const publisher = track(new Redis6({ port: server.port, username: 'app-1', password: 'pw' }));
    await publisher.publish('news', 'hello');
    await waitFor('the message', () => received.length === 1);
    expect(await subscriber.call('ACL', 'WHOAMI')).toBe('app-2');
  });
});

describe('topologies', () => {
  it('Sentinel: the resolved primary authenticates with the provider, also after a failover', async () => {
    const rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
    for (const node of rs.nodes) await addUser(node.port, 'app', 'pw');
    const p = provider(() => ({ username: 'app', password: 'pw' }));
    const client = track(
      createRedisClient({
        sentinels: rs.sentinelAddresses,
        sentinelName: rs.masterName,
        credentials: p.fn,
        credentialsRefreshMs: 200,
      }),
    ) as Redis;
    await waitForReady(client, { timeoutMs: 5_000 });
    expect(await whoami(client)).toBe('app');
    expect(p.calls[0]!.address).toBe(`127.0.0.1:${rs.primary.port}`);
    const { to } = await rs.failover();
    await waitFor(
      'the new primary',
      async () =>
        client.status === 'ready' &&
        (await client.set('k', 'v').then(
          () => true,
          () => false,
        )),
      { timeoutMs: 10_000 },
    );
    expect(await whoami(client)).toBe('app');
    expect(p.calls.at(-1)!.address).toBe(`127.0.0.1:${to}`);
    const tracker = trackCredentials(client);
    await waitFor('a refresh', () => tracker.stats().refreshes > 0, { timeoutMs: 2_000 });
  }, 40_000);

  it('Cluster: every node authenticates; a round re-authenticates every node', async () => {
    const cluster = await startCluster({ masters: 3 });
    for (const node of cluster.nodes) await addUser(node.port, 'app', 'pw');
    const p = provider(() => ({ username: 'app', password: 'pw' }));
    const client = track(
      createRedisClient({
        clusterMode: true,
        clusterNodes: cluster.startupNodes,
        credentials: p.fn,
      }),
    ) as Cluster;
    await waitForReady(client, { timeoutMs: 5_000 });
    for (let i = 0; i < 30; i++) await client.set(`key:${i}`, String(i));
    const masters = client.nodes('master');
    expect(masters).toHaveLength(3);
    await waitFor('every node ready', () => masters.every((n) => n.status === 'ready'));
    expect(await Promise.all(masters.map(whoami))).toEqual(['app', 'app', 'app']);
    expect(p.calls.length).toBeGreaterThanOrEqual(3);
    const tracker = trackCredentials(client);
    const refreshed = new Promise<CredentialsRefresh>((r) => tracker.once('refresh', r));
    await tracker.refresh();
    expect((await refreshed).connections).toBe(
      client.nodes('all').filter((n) => n.status === 'ready').length,
    );
    expect((await refreshed).connections).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
