import { type ClusterHandle, startCluster, startFaultProxy, startRedis, waitFor } from '@x/testkit';
import Redis, { Cluster, type RedisOptions, ReplyError } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyRedisError, isInfrastructureError, type RedisErrorKind } from './classify.js';
import { BreakerOpenError, BreakerOptionsError, GuardTimeoutError } from './errors.js';

// Every error below comes from a real redis-server (or a real socket) where one can be produced;
// the few that cannot be produced on demand are built with ioredis' own classes and real messages.

const clients: (Redis | Cluster)[] = [];
function client(options: RedisOptions): Redis {
  const c = new Redis({ host: '127.0.0.1', lazyConnect: true, ...options });
  c.on('error', () => {});
  clients.push(c);
  return c;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function firstError(c: Redis | Cluster): Promise<Error> {
  return new Promise((resolve) => c.once('error', resolve));
}

// Every 'error' event of a client, to wait for a given one.
function errorsOf(c: Redis | Cluster): Error[] {
  const seen: Error[] = [];
  c.on('error', (e: Error) => seen.push(e));
  return seen;
}

async function deadPort(): Promise<number> {
  const r = await startRedis();
  const { port } = r;
  await r.kill();
  return port;
}

function expectKind(error: unknown, kind: RedisErrorKind): void {
  expect(classifyRedisError(error)).toBe(kind);
  expect(isInfrastructureError(error)).toBe(kind !== 'command');
}

describe('classifyRedisError: connection failures from real sockets', () => {
  it('ECONNREFUSED (nothing listens on the port)', async () => {
    const port = await deadPort();
    const c = client({ port, retryStrategy: () => null });
    const event = firstError(c);
    const connectError = await rejection(c.connect());
    const error = await event;
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expectKind(error, 'connection');
    expectKind(connectError, 'connection');
  });

  it('ECONNREFUSED as an AggregateError (localhost resolves to ::1 and 127.0.0.1)', async () => {
    const port = await deadPort();
    const c = client({ host: 'localhost', port, retryStrategy: () => null });
    const event = firstError(c);
    c.connect().catch(() => {});
    const error = await event;
    expect(String((error as NodeJS.ErrnoException).code)).toBe('ECONNREFUSED');
    expectKind(error, 'connection');
  });

  it("Stream isn't writeable and enableOfflineQueue options is false", async () => {
    const port = await deadPort();
    const c = client({ port, enableOfflineQueue: false, retryStrategy: () => 50 });
    c.connect().catch(() => {});
    const error = await rejection(c.get('k'));
    expect(error.message).toBe("Stream isn't writeable and enableOfflineQueue options is false");
    expectKind(error, 'connection');
  });

  it('MaxRetriesPerRequestError (Reached the max retries per request limit)', async () => {
    const port = await deadPort();
    const c = client({ port, maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    c.connect().catch(() => {});
    const error = await rejection(c.get('k'));
    expect(error.name).toBe('MaxRetriesPerRequestError');
    expect(error.message).toMatch(/^Reached the max retries per request limit/);
    expectKind(error, 'connection');
    // The same message without the class (e.g. re-wrapped by a caller) is still recognised.
    expectKind(new Error(error.message), 'connection');
  });

  it('Connection is closed. (command after disconnect)', async () => {
    const r = await startRedis();
    const c = client({ port: r.port });
    await c.connect();
    c.disconnect();
    const error = await rejection(c.get('k'));
    expect(error.message).toBe('Connection is closed.');
    expectKind(error, 'connection');
  });

  it('ECONNRESET from the fault proxy, and the pending command it fails', async () => {
    const r = await startRedis();
    const proxy = await startFaultProxy({ target: r });
    const c = client({ port: proxy.port, retryStrategy: () => null });
    await c.connect();
    const socketError = firstError(c);
    const pending = rejection(c.blpop('never', 5));
    await waitFor('BLPOP to reach the server', () => proxy.connections === 1);
    proxy.reset();
    const error = await socketError;
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expectKind(error, 'connection');
    const commandError = await pending;
    expect(commandError.message).toBe('Connection is closed.');
    expectKind(commandError, 'connection');
  });

  it('server killed in the middle of a command', async () => {
    const r = await startRedis();
    const c = client({ port: r.port, retryStrategy: () => null });
    await c.connect();
    const pending = rejection(c.blpop('never', 5));
    await waitFor('BLPOP to block', async () => {
      const admin = new Redis(r.port, { lazyConnect: true });
      await admin.connect();
      const list = await admin.client('LIST');
      admin.disconnect();
      return String(list).includes('cmd=blpop');
    });
    await r.kill();
    const error = await pending;
    expect(error.message).toBe('Connection is closed.');
    expectKind(error, 'connection');
  });

  it('ENOTFOUND (the host does not resolve)', async () => {
    const c = client({ host: 'does-not-exist.invalid', port: 6390, retryStrategy: () => null });
    const event = firstError(c);
    c.connect().catch(() => {});
    const error = await event;
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain((error as NodeJS.ErrnoException).code);
    expectKind(error, 'network');
  });
});

describe('classifyRedisError: replies from real servers', () => {
  it('Command timed out (frozen server, short commandTimeout)', async () => {
    const r = await startRedis();
    const c = client({ port: r.port, commandTimeout: 100 });
    await c.connect();
    await r.freeze();
    const error = await rejection(c.get('k'));
    await r.resume();
    expect(error.message).toBe('Command timed out');
    expectKind(error, 'timeout');
  });

  it('NOAUTH, WRONGPASS and NOPERM', async () => {
    const r = await startRedis({ password: 's3cret' });
    const anonymous = client({ port: r.port, enableReadyCheck: false });
    const noauth = await rejection(anonymous.get('k'));
    expect(noauth.message).toMatch(/^NOAUTH /);
    expectKind(noauth, 'auth');

    const checked = client({ port: r.port, retryStrategy: () => null });
    const seen = errorsOf(checked);
    checked.connect().catch(() => {});
    await waitFor('an error event', () => seen.length > 0);
    for (const e of seen) {
      expect(e.message).toMatch(/^(Ready check failed: )?NOAUTH/);
      expectKind(e, 'auth');
    }
    expectKind(new Error('Ready check failed: NOAUTH Authentication required.'), 'auth');
    expectKind(new Error('Ready check failed: ERR something'), 'connection');

    const wrong = client({ port: r.port, password: 'wrong', retryStrategy: () => null });
    const wrongError = firstError(wrong);
    wrong.connect().catch(() => {});
    const wrongpass = await wrongError;
    expect(wrongpass.message).toMatch(/^WRONGPASS /);
    expectKind(wrongpass, 'auth');

    const admin = client({ port: r.port, password: 's3cret' });
    await admin.call('ACL', 'SETUSER', 'reader', 'on', '>pw', '~*', '+get', '+ping', '+info');
    const reader = client({ port: r.port, username: 'reader', password: 'pw' });
    const noperm = await rejection(reader.set('k', 'v'));
    expect(noperm.message).toMatch(/^NOPERM /);
    expectKind(noperm, 'auth');
  });

  it('READONLY (write to a replica) and MASTERDOWN (replica without its master)', async () => {
    const primary = await startRedis();
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    const c = client({ port: replica.port });
    const readonly = await rejection(c.set('k', 'v'));
    expect(readonly.message).toMatch(/^READONLY /);
    expectKind(readonly, 'readonly');

    const port = await deadPort();
    const orphan = await startRedis({
      args: ['--replicaof', '127.0.0.1', String(port), '--replica-serve-stale-data', 'no'],
    });
    const o = client({ port: orphan.port });
    const masterdown = await rejection(o.get('k'));
    expect(masterdown.message).toMatch(/^MASTERDOWN /);
    expectKind(masterdown, 'cluster');
  });

  it('a plain command on a subscriber connection is a command error', async () => {
    const r = await startRedis();
    // RESP2: a subscribed connection takes only subscriber commands (ioredis 6 speaks RESP3 by
    // default, where Redis allows every command on a subscribed connection).
    const c = client({ port: r.port, protocol: 2 } as RedisOptions);
    await c.subscribe('news');
    const error = await rejection(c.get('k'));
    expect(error.message).toMatch(/^Connection in subscriber mode/);
    expectKind(error, 'command');
  });

  it('WRONGTYPE, ERR and NOSCRIPT are command errors', async () => {
    const r = await startRedis();
    const c = client({ port: r.port });
    await c.set('s', 'v');
    const wrongtype = await rejection(c.lpush('s', 'x'));
    expect(wrongtype.message).toMatch(/^WRONGTYPE /);
    expectKind(wrongtype, 'command');
    const err = await rejection(c.call('NOSUCHCOMMAND'));
    expect(err.message).toMatch(/^ERR unknown command/);
    expectKind(err, 'command');
    const noscript = await rejection(c.evalsha('0'.repeat(40), 0));
    expect(noscript.message).toMatch(/^NOSCRIPT /);
    expectKind(noscript, 'command');
  });
});

describe('classifyRedisError: cluster', () => {
  let cluster: ClusterHandle;

  it('MOVED (plain client to the wrong node), then CLUSTERDOWN (a master killed)', async () => {
    cluster = await startCluster({ masters: 3, nodeTimeoutMs: 200 });
    const node = cluster.masters[0]!;
    const c = client({ port: node.port });
    let moved: Error | undefined;
    for (let i = 0; i < 50 && moved === undefined; i++) {
      try {
        await c.get(`key:${i}`);
      } catch (error) {
        moved = error as Error;
      }
    }
    expect(moved?.message).toMatch(/^MOVED \d+ 127\.0\.0\.1:\d+/);
    expectKind(moved, 'cluster');

    await cluster.masters[1]!.kill();
    const down = await waitFor(
      'the cluster to report CLUSTERDOWN',
      async () => {
        try {
          await c.get('key:0');
          return undefined;
        } catch (error) {
          return /^CLUSTERDOWN/.test((error as Error).message) ? (error as Error) : undefined;
        }
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expectKind(down, 'cluster');
  }, 40_000);

  it('ClusterAllFailedError (no startup node reachable)', async () => {
    const port = await deadPort();
    const c = new Cluster([{ host: '127.0.0.1', port }], {
      lazyConnect: true,
      clusterRetryStrategy: () => null,
      enableOfflineQueue: false,
    });
    clients.push(c);
    const error = firstError(c);
    c.connect().catch(() => {});
    const all = await error;
    expect(all.name).toBe('ClusterAllFailedError');
    expect(all.message).toBe('Failed to refresh slots cache.');
    expectKind(all, 'cluster');
    const command = await rejection(c.get('k'));
    expect(command.message).toMatch(
      /^(Cluster isn't ready|None of startup nodes|Connection is closed)/,
    );
    expect(isInfrastructureError(command)).toBe(true);
  });
});

describe('classifyRedisError: errors that cannot be produced on demand', () => {
  const errno = (code: string, message: string): Error =>
    Object.assign(new Error(message), { code });
  it.each<[string, unknown, RedisErrorKind]>([
    ['LOADING', new ReplyError('LOADING Redis is loading the dataset in memory'), 'loading'],
    ['ASK', new ReplyError('ASK 3999 127.0.0.1:7002'), 'cluster'],
    [
      'TRYAGAIN',
      new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'),
      'cluster',
    ],
    ['CLUSTERDOWN', new ReplyError('CLUSTERDOWN The cluster is down'), 'cluster'],
    ['BUSY', new ReplyError('BUSY Redis is busy running a script.'), 'timeout'],
    ['OOM', new ReplyError("OOM command not allowed when used memory > 'maxmemory'."), 'readonly'],
    ['BUSYKEY', new ReplyError('BUSYKEY Target key name already exists.'), 'command'],
    ['EXECABORT', new ReplyError('EXECABORT Transaction discarded'), 'command'],
    [
      'CROSSSLOT',
      new ReplyError("CROSSSLOT Keys in request don't hash to the same slot"),
      'command',
    ],
    ['EPIPE', errno('EPIPE', 'write EPIPE'), 'connection'],
    ['ECONNRESET', errno('ECONNRESET', 'read ECONNRESET'), 'connection'],
    ['ETIMEDOUT (connect)', errno('ETIMEDOUT', 'connect ETIMEDOUT'), 'timeout'],
    ['EHOSTUNREACH', errno('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:6379'), 'network'],
    ['EAI_AGAIN', errno('EAI_AGAIN', 'getaddrinfo EAI_AGAIN redis'), 'network'],
    ['ENETUNREACH', errno('ENETUNREACH', 'connect ENETUNREACH'), 'network'],
    ['TLS self-signed', errno('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'auth'],
    ['TLS SSL', errno('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), 'auth'],
    [
      'socket timeout',
      new Error("Socket timeout. Expecting data, but didn't receive any in 100ms."),
      'timeout',
    ],
    [
      'sentinels',
      new Error('All sentinels are unreachable. Retrying from scratch after 10ms.'),
      'connection',
    ],
    ['cluster redirections', new Error('Too many Cluster redirections. Last error: x'), 'cluster'],
    [
      'ERR AUTH',
      new ReplyError('ERR AUTH <password> called without any password configured'),
      'auth',
    ],
    ['code only in the message', new Error('connect ECONNREFUSED 127.0.0.1:6379'), 'connection'],
    ['GuardTimeoutError', new GuardTimeoutError(100), 'timeout'],
    ['BreakerOpenError', new BreakerOpenError('open'), 'connection'],
    ['BreakerOptionsError', new BreakerOptionsError('x', 1, 'y'), 'unknown'],
    ['cause chain', new Error('wrapped', { cause: errno('ECONNRESET', 'read') }), 'connection'],
    [
      'cause chain to a reply',
      new Error('wrapped', { cause: new ReplyError('WRONGTYPE x') }),
      'command',
    ],
    ['a TypeError', new TypeError('x is not a function'), 'unknown'],
    ['cluster ended', new Error('Cluster is ended.'), 'connection'],
    [
      'pipeline across slots',
      new Error('All keys in the pipeline should belong to the same slots allocation group'),
      'command',
    ],
    ['a string reply', 'READONLY You can not write', 'readonly'],
    ['null', null, 'unknown'],
    ['undefined', undefined, 'unknown'],
    ['a number', 42, 'unknown'],
  ])('%s', (_, error, kind) => {
    expectKind(error, kind);
  });

  it('survives a cyclic cause chain', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyRedisError(a)).toBe('unknown');
  });
});

describe('classifyRedisError: the errors of @x/config', () => {
  // Built by shape (code, name, message, cause) as @x/config makes them: this package does not
  // depend on it. The config package's own tests produce them from real servers.
  const configError = (
    name: string,
    code: string,
    message: string,
    cause?: unknown,
  ): Error & { code: string } =>
    Object.assign(new Error(`[@x/config] ${message}`, cause === undefined ? {} : { cause }), {
      name,
      code,
    });
  const wrongpass = new ReplyError('WRONGPASS invalid username-password pair or user is disabled.');

  it.each<[string, unknown, RedisErrorKind]>([
    [
      'E_CREDENTIALS_PROVIDER (the provider threw)',
      configError(
        'CredentialsError',
        'E_CREDENTIALS_PROVIDER',
        'the credentials provider threw for 127.0.0.1:6379: token service unavailable',
        new Error('token service unavailable'),
      ),
      'auth',
    ],
    [
      'E_CREDENTIALS_PROVIDER (timed out; the message names ETIMEDOUT-like words)',
      configError(
        'CredentialsError',
        'E_CREDENTIALS_PROVIDER',
        'the credentials provider did not return within 300 ms (connectTimeout) for 127.0.0.1:6379',
      ),
      'auth',
    ],
    [
      'E_CREDENTIALS_REJECTED',
      configError(
        'CredentialsError',
        'E_CREDENTIALS_REJECTED',
        'Redis at 127.0.0.1:6379 refused the credentials from the credentials provider: WRONGPASS ...',
        wrongpass,
      ),
      'auth',
    ],
    [
      'E_REDIS_NOT_CONNECTED caused by WRONGPASS',
      configError(
        'RedisNotConnectedError',
        'E_REDIS_NOT_CONNECTED',
        'not connected to Redis at 127.0.0.1:6379 (reconnecting); the last connection attempt failed: WRONGPASS ... (check REDIS_USERNAME / REDIS_PASSWORD)',
        wrongpass,
      ),
      'auth',
    ],
    [
      'E_REDIS_NOT_CONNECTED caused by a credentials error',
      configError(
        'RedisNotConnectedError',
        'E_REDIS_NOT_CONNECTED',
        'not connected to Redis at 127.0.0.1:6379 (reconnecting)',
        configError('CredentialsError', 'E_CREDENTIALS_PROVIDER', 'the credentials provider threw'),
      ),
      'auth',
    ],
    [
      'E_REDIS_NOT_CONNECTED caused by ECONNREFUSED',
      configError(
        'RedisNotConnectedError',
        'E_REDIS_NOT_CONNECTED',
        'not connected to Redis at 127.0.0.1:6379 (reconnecting); the last connection attempt failed: connect ECONNREFUSED 127.0.0.1:6379',
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
          code: 'ECONNREFUSED',
          syscall: 'connect',
        }),
      ),
      'connection',
    ],
    [
      'E_REDIS_NOT_CONNECTED caused by a TLS certificate error',
      configError(
        'RedisNotConnectedError',
        'E_REDIS_NOT_CONNECTED',
        'not connected to Redis at 127.0.0.1:6380 (reconnecting); the last connection attempt failed: self-signed certificate',
        Object.assign(new Error('self-signed certificate'), {
          code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
        }),
      ),
      'auth',
    ],
    [
      'E_REDIS_NOT_CONNECTED without a cause (still connecting)',
      configError(
        'RedisNotConnectedError',
        'E_REDIS_NOT_CONNECTED',
        'not connected to Redis at 127.0.0.1:6379 (connecting): the client is still connecting',
      ),
      'connection',
    ],
    [
      'E_REDIS_NOT_CONNECTED with a cause nobody knows',
      configError(
        'RedisNotConnectedError',
        'E_REDIS_NOT_CONNECTED',
        'the connection to Redis at 127.0.0.1:6379 closed while the command was in flight',
        new TypeError('something odd'),
      ),
      'connection',
    ],
  ])('%s', (_, error, kind) => {
    expectKind(error, kind);
  });
});
