import { createBreaker } from '@x/breaker';
import { loadConfig } from '@x/config';
import { listenChannels, sleep, startCluster, startRedis, waitFor } from '@x/testkit';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONNECTION_CHANNELS,
  type Connection,
  type ConnectionStateMessage,
  createConnection,
  isXError,
  type LogFields,
} from './index.js';

const open: Connection[] = [];
function connect(options: Parameters<typeof createConnection>[0]): Connection {
  const connection = createConnection({ logger: false, ...options });
  open.push(connection);
  return connection;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function logs(): {
  lines: { msg: string; fields: LogFields }[];
  logger: (msg: string, fields: LogFields) => void;
} {
  const lines: { msg: string; fields: LogFields }[] = [];
  return { lines, logger: (msg, fields) => lines.push({ msg, fields }) };
}

describe('a healthy server', () => {
  it('is ready, runs guarded calls and reports the redis block', async () => {
    const server = await startRedis();
    const connection = connect({ redis: server.url, name: '@x/test' });
    expect(connection.state).toBe('connecting');
    await connection.ready();
    expect(connection.state).toBe('ready');
    expect(connection.owned).toBe(true);
    await connection.execute((redis) => redis.set('k', 'v'));
    expect(await connection.execute((redis) => redis.get('k'))).toBe('v');
    const stats = connection.stats();
    expect(stats).toMatchObject({
      name: '@x/test',
      state: 'ready',
      breaker: 'closed',
      problem: null,
      outages: 0,
    });
    expect(stats.calls).toBe(2);
    expect(stats.successes).toBe(2);
    expect(connection.diagnosis()).toBeNull();
  });

  it('rethrows command errors as they are, without a problem or a fallback', async () => {
    const server = await startRedis();
    const connection = connect({ redis: server.url });
    await connection.ready();
    await connection.execute((redis) => redis.set('s', 'x'));
    await expect(
      connection.execute((redis) => redis.lpush('s', 'y'), { fallback: () => -1 }),
    ).rejects.toThrow(/WRONGTYPE/);
    expect(connection.diagnosis()).toBeNull();
    expect(connection.stats().failures).toBe(0);
  });

  it('borrows a given client: never closes it', async () => {
    const server = await startRedis();
    const client = new Redis(server.url);
    const connection = connect({ redis: client });
    await connection.ready();
    expect(connection.owned).toBe(false);
    await connection.close();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('runs Lua scripts and reloads them after SCRIPT FLUSH', async () => {
    const server = await startRedis();
    const connection = connect({ redis: server.url });
    await connection.ready();
    const incr = connection.script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    expect(connection.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")).toBe(incr);
    expect(await connection.execute(() => incr.run(1, 'n', 2))).toBe(2);
    await connection.execute((redis) => redis.script('FLUSH'));
    expect(await connection.execute(() => incr.run(1, 'n', 3))).toBe(5);
    await expect(
      connection.execute(() => connection.script('return redis.call("NOPE")').run(0)),
    ).rejects.toThrow(/Unknown Redis command|unknown command/i);
  });

  it('makes named duplicates, feeds their errors into the diagnosis and closes them', async () => {
    const server = await startRedis();
    const connection = connect({ redis: server.url, name: '@x/test' });
    await connection.ready();
    const sub = connection.duplicate('subscriber');
    await waitFor('subscriber ready', () => sub.status === 'ready', { timeoutMs: 2_000 });
    await sub.subscribe('news');
    const names = (await connection.execute((r) => r.client('LIST'))) as string;
    expect(names).toContain('name=@x/test:subscriber');
    await connection.close();
    await waitFor("sub.status === 'end'", () => sub.status === 'end', { timeoutMs: 2_000 });
  });

  it('publishes state changes and traced calls on diagnostics_channel', async () => {
    const server = await startRedis();
    const callStart = `tracing:${CONNECTION_CHANNELS.call}:start`;
    using channels = listenChannels([CONNECTION_CHANNELS.state, callStart]);
    const states = channels.of<ConnectionStateMessage>(CONNECTION_CHANNELS.state);
    const starts = channels.of(callStart);
    const connection = connect({ redis: server.url, name: '@x/traced' });
    await connection.ready();
    await connection.execute((r) => r.ping(), { operation: 'ping' });
    expect(states.filter((s) => s.connection === '@x/traced').map((s) => s.to)).toEqual(['ready']);
    expect(starts).toContainEqual(
      expect.objectContaining({ connection: '@x/traced', operation: 'ping' }),
    );
  });
});

describe('config values reach the connection', () => {
  it('takes probe, health and start-up intervals from loadConfig', async () => {
    const config = loadConfig({
      env: {
        REDIS_URL: 'redis://127.0.0.1:1',
        REDIS_PROBE_INTERVAL: '200ms',
        REDIS_STARTUP_PROBE_TIMEOUT: '300ms',
      },
    });
    const connection = connect({ redis: config });
    expect(connection.probeIntervalMs).toBe(200);
    expect(connection.startupProbeTimeoutMs).toBe(300);
    const started = performance.now();
    await expect(connection.ready()).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(1_000);
    // Explicit options win over the config.
    const explicit = connect({ redis: config, probeIntervalMs: 1_234 });
    expect(explicit.probeIntervalMs).toBe(1_234);
  });
});

describe('outages', () => {
  it('a killed server: unusable at once, usable again after a restart, each once', async () => {
    const server = await startRedis();
    const connection = connect({ redis: server.url, probeIntervalMs: 200 });
    await connection.ready();
    const events: string[] = [];
    connection.on('unusable', (e) => events.push(`unusable:${e.reason}`));
    connection.on('usable', (e) => events.push(`usable:${e.reason}`));
    await server.kill();
    await waitFor("connection.state === 'unusable'", () => connection.state === 'unusable', {
      timeoutMs: 2_000,
    });
    // The first reconnection attempt tells why (refused).
    await waitFor('a diagnosis', () => connection.diagnosis()?.kind === 'refused', {
      timeoutMs: 2_000,
    });
    expect(connection.diagnosis()?.misconfiguration).toBe(false);
    await expect(connection.execute((r) => r.get('x'), { fallback: () => 'memory' })).resolves.toBe(
      'memory',
    );
    await server.restart();
    await waitFor("connection.state === 'ready'", () => connection.state === 'ready', {
      timeoutMs: 3_000,
    });
    expect(events).toEqual(['unusable:connection_lost', 'usable:recovered']);
    expect(connection.diagnosis()).toBeNull();
    expect(connection.stats().outages).toBe(1);
  });

  it('a frozen server: calls keep their deadline, the breaker opens, usable soon after resume', async () => {
    const server = await startRedis();
    const connection = connect({
      redis: server.url,
      timeoutMs: 100,
      breaker: { maxFailures: 3, resetTimeout: 60_000 },
      probeIntervalMs: 500,
    });
    await connection.ready();
    await server.freeze();
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      const value = await connection.execute((r) => r.get('x'), { fallback: () => 'memory' });
      expect(value).toBe('memory');
      expect(performance.now() - started).toBeLessThan(100 + 60);
    }
    expect(connection.breaker?.state).toBe('open');
    await waitFor("connection.state === 'unusable'", () => connection.state === 'unusable', {
      timeoutMs: 1_000,
    });
    expect(connection.diagnosis()?.kind).toBe('timeout');
    await server.resume();
    const resumed = performance.now();
    await waitFor("connection.state === 'ready'", () => connection.state === 'ready', {
      timeoutMs: 2_000,
    });
    // The PING kept in flight answers as soon as the server runs again: no probe interval wait.
    expect(performance.now() - resumed).toBeLessThan(400);
    expect(connection.breaker?.state).toBe('closed');
    expect(await connection.execute((r) => r.ping())).toBe('PONG');
  });

  it('health PINGs notice a frozen server on an idle connection', async () => {
    const server = await startRedis();
    const connection = connect({ redis: server.url, timeoutMs: 100, healthCheckIntervalMs: 100 });
    await connection.ready();
    await server.freeze();
    await waitFor("connection.state === 'unusable'", () => connection.state === 'unusable', {
      timeoutMs: 1_500,
    });
    await server.resume();
    await waitFor("connection.state === 'ready'", () => connection.state === 'ready', {
      timeoutMs: 2_000,
    });
  });

  it('ready() of an unreachable server rejects at its deadline with the diagnosis', async () => {
    const server = await startRedis();
    await server.kill();
    const connection = connect({ redis: server.url, startupProbeTimeoutMs: 300 });
    const started = performance.now();
    const error = await connection.ready().catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(isXError(error, 'E_REDIS_UNAVAILABLE')).toBe(true);
    expect((error as { problem: { kind: string } }).problem.kind).toBe('refused');
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).toMatch(/start Redis there/);
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(800);
    // It keeps trying: a server that comes back is picked up.
    await server.restart();
    await waitFor("connection.state === 'ready'", () => connection.state === 'ready', {
      timeoutMs: 3_000,
    });
    await expect(connection.ready()).resolves.toBeUndefined();
  });

  it('ready() honours an AbortSignal and close()', async () => {
    const server = await startRedis();
    await server.kill();
    const connection = connect({ redis: server.url });
    const controller = new AbortController();
    const aborted = connection.ready({ signal: controller.signal, timeoutMs: 10_000 });
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    const pending = connection.ready({ timeoutMs: 10_000 });
    await connection.close();
    await expect(pending).rejects.toMatchObject({ code: 'E_CONNECTION_CLOSED' });
    await expect(connection.execute((r) => r.ping())).rejects.toMatchObject({
      code: 'E_CONNECTION_CLOSED',
    });
  });

  it('close() is bounded on a frozen server and idempotent', async () => {
    const server = await startRedis();
    const connection = connect({ redis: server.url, timeoutMs: 200 });
    await connection.ready();
    connection.duplicate('subscriber');
    await sleep(50);
    await server.freeze();
    const started = performance.now();
    await connection.close();
    expect(performance.now() - started).toBeLessThan(700);
    await connection.close();
    expect(connection.state).toBe('closed');
    await server.resume();
  });

  it('a shared breaker is used as is', async () => {
    const server = await startRedis();
    const breaker = createBreaker({ maxFailures: 2 });
    const a = connect({ redis: server.url, breaker });
    const b = connect({ redis: server.url, breaker });
    expect(a.breaker).toBe(breaker);
    expect(b.breaker).toBe(breaker);
  });
});

describe('misconfigurations are reported at once, with the server words and a hint', () => {
  it('wrong password: auth, at once, logged once at error level', async () => {
    const server = await startRedis({ password: 'secret' });
    const { lines, logger } = logs();
    const url = server.url.replace('secret', 'wrong');
    const connection = connect({ redis: url, logger, startupProbeTimeoutMs: 5_000 });
    const started = performance.now();
    const error = await connection.ready().catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(isXError(error, 'E_REDIS_MISCONFIGURED')).toBe(true);
    const problem = connection.diagnosis()!;
    expect(problem.kind).toBe('auth');
    expect(problem.misconfiguration).toBe(true);
    expect(problem.message).toMatch(/^WRONGPASS/);
    expect(problem.hint).toMatch(/REDIS_PASSWORD/);
    expect(connection.state).toBe('unusable');
    await sleep(600); // several reconnection attempts, each refused the same way
    const errors = lines.filter((l) => l.fields.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/misconfigured \(auth\): WRONGPASS/);
    expect(errors[0]!.fields).toMatchObject({ reason: 'misconfigured', kind: 'auth' });
    expect(JSON.stringify(lines)).not.toContain('secret');
    expect(connection.stats().problem?.kind).toBe('auth');
  });

  it('no password for a server that requires one: auth (NOAUTH)', async () => {
    const server = await startRedis({ password: 'secret' });
    const connection = connect({ redis: `redis://127.0.0.1:${server.port}` });
    await expect(connection.ready()).rejects.toMatchObject({ code: 'E_REDIS_MISCONFIGURED' });
    expect(connection.diagnosis()).toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/^NOAUTH/),
    });
  });

  it('unknown host: dns', async () => {
    const connection = connect({ redis: 'redis://no-such-host.invalid:6379' });
    await expect(connection.ready({ timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'E_REDIS_MISCONFIGURED',
    });
    expect(connection.diagnosis()).toMatchObject({ kind: 'dns', misconfiguration: true });
  });

  it('plain client on a TLS server: tls, not an outage', async () => {
    const server = await startRedis({ tls: true });
    const connection = connect({ redis: `redis://127.0.0.1:${server.port}`, timeoutMs: 500 });
    await expect(connection.ready({ timeoutMs: 3_000 })).rejects.toMatchObject({
      code: 'E_REDIS_MISCONFIGURED',
    });
    expect(connection.diagnosis()).toMatchObject({ kind: 'tls' });
    expect(connection.diagnosis()!.hint).toMatch(/rediss:\/\//);
  });

  it('TLS client on a plain server: tls, not an outage', async () => {
    const server = await startRedis();
    const connection = connect({
      redis: `rediss://127.0.0.1:${server.port}`,
      ioredis: { connectTimeout: 300, tls: { rejectUnauthorized: false } },
      timeoutMs: 300,
    });
    await expect(connection.ready({ timeoutMs: 3_000 })).rejects.toMatchObject({
      code: 'E_REDIS_MISCONFIGURED',
    });
    expect(connection.diagnosis()).toMatchObject({ kind: 'tls' });
    expect(connection.diagnosis()!.hint).toMatch(/redis:\/\//);
  });

  it('untrusted certificate: tls', async () => {
    const server = await startRedis({ tls: true });
    const connection = connect({ redis: `rediss://127.0.0.1:${server.port}` });
    await expect(connection.ready({ timeoutMs: 3_000 })).rejects.toMatchObject({
      code: 'E_REDIS_MISCONFIGURED',
    });
    expect(connection.diagnosis()).toMatchObject({ kind: 'tls' });
    expect(connection.diagnosis()!.hint).toMatch(/CA/);
  });

  it('db index out of range: mode-mismatch, unusable although ioredis says ready', async () => {
    const server = await startRedis({ args: ['--databases', '2'] });
    const connection = connect({ redis: `${server.url}/5` });
    await expect(connection.ready({ timeoutMs: 2_000 })).rejects.toMatchObject({
      code: 'E_REDIS_MISCONFIGURED',
    });
    expect(connection.diagnosis()).toMatchObject({ kind: 'mode-mismatch' });
    expect(connection.diagnosis()!.hint).toMatch(/db 5/);
    await sleep(300);
    expect(connection.state).toBe('unusable');
  });

  it('standalone client on a Cluster node, and Cluster client on a standalone server', async () => {
    const cluster = await startCluster({ masters: 3 });
    const node = cluster.nodes[0]!;
    const standalone = connect({ redis: node.url });
    await expect(standalone.ready({ timeoutMs: 2_000 })).rejects.toMatchObject({
      code: 'E_REDIS_MISCONFIGURED',
    });
    expect(standalone.diagnosis()).toMatchObject({ kind: 'mode-mismatch' });
    expect(standalone.diagnosis()!.hint).toMatch(/REDIS_CLUSTER_MODE=true/);

    const server = await startRedis();
    const clusterClient = new Cluster([{ host: '127.0.0.1', port: server.port }], {
      enableOfflineQueue: false,
      clusterRetryStrategy: () => 100,
    });
    clusterClient.on('error', () => {});
    const wrong = connect({ redis: clusterClient });
    await expect(wrong.ready({ timeoutMs: 3_000 })).rejects.toMatchObject({
      code: 'E_REDIS_MISCONFIGURED',
    });
    expect(wrong.diagnosis()).toMatchObject({ kind: 'mode-mismatch' });
    expect(wrong.diagnosis()!.hint).toMatch(/not part of a Cluster/);
    clusterClient.disconnect();
  });

  it('a missing ACL permission found on a call: permission, logged, the call fails', async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    await admin.call(
      'ACL',
      'SETUSER',
      'ro',
      'on',
      '>pw',
      '~*',
      '+get',
      '+ping',
      '+info',
      '+client',
      '+hello',
      '+auth',
    );
    admin.disconnect();
    const { lines, logger } = logs();
    const connection = connect({ redis: `redis://ro:pw@127.0.0.1:${server.port}`, logger });
    await connection.ready();
    await expect(connection.execute((r) => r.set('k', 'v'))).rejects.toThrow(/NOPERM/);
    expect(connection.diagnosis()).toMatchObject({ kind: 'permission', misconfiguration: true });
    expect(lines.filter((l) => l.fields.level === 'error')).toHaveLength(1);
    // A permission problem of one command does not make the connection unusable.
    expect(connection.state).toBe('ready');
  });
});

describe('options', () => {
  it('rejects bad options with a typed error naming the field', () => {
    for (const [options, field] of [
      [{}, 'redis'],
      [{ redis: 'redis://localhost', timeoutMs: 0 }, 'timeoutMs'],
      [{ redis: 'redis://localhost', probeIntervalMs: -1 }, 'probeIntervalMs'],
      [{ redis: 'redis://localhost', logger: 42 }, 'logger'],
      [{ redis: 'redis://localhost', name: '' }, 'name'],
      [{ redis: 'redis://localhost', breaker: 'yes' }, 'breaker'],
      [{ redis: 'redis://localhost', failoverFence: 'yes' }, 'failoverFence'],
    ] as const) {
      let error: unknown;
      try {
        createConnection(options as never);
      } catch (e) {
        error = e;
      }
      expect(isXError(error, 'E_CONNECTION_OPTIONS')).toBe(true);
      expect((error as { field: string }).field).toBe(field);
      expect((error as Error).message).toMatch(/^\[@x\/connection\] invalid/);
    }
  });
});

describe('close() during an outage', () => {
  it('leaves no reconnection behind (owned client, refused port)', async () => {
    const leaks: string[] = [];
    for (let i = 0; i < 20; i++) {
      const connection = createConnection({
        redis: 'redis://127.0.0.1:1',
        logger: false,
        probeIntervalMs: 20,
      });
      await connection.ready({ timeoutMs: 150 + (i % 5) * 7 }).catch(() => {});
      await connection.close();
      let attempts = 0;
      connection.client.on('connecting', () => attempts++);
      connection.client.on('error', () => {});
      await sleep(400);
      // ioredis leaves the status of a client closed while reconnecting at 'reconnecting'; what
      // matters is that nothing runs any more.
      if (attempts > 0 || !['end', 'reconnecting', 'close'].includes(connection.client.status)) {
        leaks.push(`${attempts} attempts, ${connection.client.status}`);
      }
      connection.client.disconnect();
    }
    expect(leaks).toEqual([]);
  }, 60_000);

  it('report() of a per-command misconfiguration keeps a usable connection usable', async () => {
    const server = await startRedis();
    const connection = connect({ redis: server.url });
    await connection.ready();
    connection.report(
      new Error("NOPERM this user has no permissions to access the 'news' channel"),
    );
    expect(connection.diagnosis()).toMatchObject({ kind: 'permission' });
    expect(connection.diagnosis()!.hint).toMatch(/&<channel pattern>/);
    await sleep(50);
    expect(connection.state).toBe('ready');
    expect(connection.stats().outages).toBe(0);
    connection.report(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    expect(connection.diagnosis()?.kind).toBe('permission');
  });
});

describe('owned: true', () => {
  it('hands a given client over: the connection closes it', async () => {
    const server = await startRedis();
    const client = new Redis(server.url);
    const connection = connect({ redis: client, owned: true });
    await connection.ready();
    expect(connection.owned).toBe(true);
    await connection.close();
    await waitFor('the client to end', () => client.status === 'end', { timeoutMs: 2_000 });
    expect(() => createConnection({ redis: server.url, owned: false })).toThrow(/always owned/);
  });
});

describe('Redis dies right after the connection was created', () => {
  it('reports no false recovery', async () => {
    for (let i = 0; i < 5; i++) {
      const server = await startRedis();
      const connection = connect({ redis: server.url });
      const states: string[] = [];
      connection.on('state', (e) => states.push(`${e.from}->${e.to}:${e.reason}`));
      await connection.execute((r) => r.set('k', 'v'));
      await server.kill();
      await sleep(300);
      expect(states).not.toContain('unusable->ready:recovered');
      await connection.close();
    }
  });

  it('many instances on one given client: no listener warning', async () => {
    const server = await startRedis();
    const client = new Redis(server.url);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const connections = Array.from({ length: 15 }, () => connect({ redis: client }));
      await Promise.all(connections.map((c) => c.ready()));
      await sleep(20);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      client.disconnect();
    }
  });
});
