import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ConfigError, isConfigError } from './errors.js';
import { ENV_VARS, loadConfig } from './load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'x-config-env-'));
const ca = join(dir, 'ca.pem');
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
for (const f of [ca, cert, key]) writeFileSync(f, 'pem');

function fail(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(isConfigError(error)).toBe(true);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig (environment matrix)', () => {
  it('empty environment: defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({ mode: 'standalone', host: '127.0.0.1', port: 6379, db: 0 });
  });

  it('reads from process.env by default', () => {
    const saved = process.env.REDIS_PORT;
    process.env.REDIS_PORT = '6390';
    try {
      expect(loadConfig().port).toBe(6390);
    } finally {
      if (saved === undefined) delete process.env.REDIS_PORT;
      else process.env.REDIS_PORT = saved;
    }
  });

  it('REDIS_URL with user, password, db and rediss://', () => {
    const c = loadConfig({ env: { REDIS_URL: 'rediss://app:pw@cache:6380/2' } });
    expect(c).toMatchObject({ host: 'cache', port: 6380, username: 'app', password: 'pw', db: 2 });
    expect(c.tls).toMatchObject({ skipVerify: false });
  });

  it('REDIS_HOST/PORT/USERNAME/PASSWORD/DB override the URL parts', () => {
    const c = loadConfig({
      env: {
        REDIS_URL: 'redis://u:p@h:1/1',
        REDIS_HOST: 'other',
        REDIS_PORT: '7000',
        REDIS_USERNAME: 'acl',
        REDIS_PASSWORD: ' spaced pw ',
        REDIS_DB: '9',
      },
    });
    expect(c).toMatchObject({
      host: 'other',
      port: 7000,
      username: 'acl',
      password: ' spaced pw ',
      db: 9,
    });
  });

  it('timeouts and their aliases, as durations', () => {
    expect(
      loadConfig({ env: { REDIS_CONNECT_TIMEOUT: '2s', REDIS_COMMAND_TIMEOUT: '750ms' } }),
    ).toMatchObject({
      connectTimeoutMs: 2_000,
      commandTimeoutMs: 750,
    });
    expect(
      loadConfig({ env: { REDIS_DIAL_TIMEOUT: '1500', REDIS_READ_TIMEOUT: '1s' } }),
    ).toMatchObject({
      connectTimeoutMs: 1_500,
      commandTimeoutMs: 1_000,
    });
    expect(
      loadConfig({ env: { REDIS_READ_TIMEOUT: '1s', REDIS_WRITE_TIMEOUT: '2s' } }).commandTimeoutMs,
    ).toBe(2_000);
    expect(loadConfig({ env: { REDIS_WRITE_TIMEOUT: '4s' } }).commandTimeoutMs).toBe(4_000);
    expect(
      loadConfig({ env: { REDIS_CONNECT_TIMEOUT: '3s', REDIS_DIAL_TIMEOUT: '9s' } })
        .connectTimeoutMs,
    ).toBe(3_000);
    expect(
      loadConfig({ env: { REDIS_COMMAND_TIMEOUT: '1s', REDIS_READ_TIMEOUT: '9s' } })
        .commandTimeoutMs,
    ).toBe(1_000);
  });

  it('retries, pool, pipelining, intervals', () => {
    const c = loadConfig({
      env: {
        REDIS_MAX_RETRIES: '5',
        REDIS_MIN_RETRY_BACKOFF: '100ms',
        REDIS_MAX_RETRY_BACKOFF: '2s',
        REDIS_POOL_SIZE: '20',
        REDIS_MIN_IDLE_CONNS: '2',
        REDIS_ENABLE_AUTO_PIPELINING: 'yes',
        REDIS_KEEP_ALIVE: '1m',
        REDIS_HEALTH_CHECK_INTERVAL: '10s',
        REDIS_PROBE_INTERVAL: '200ms',
        REDIS_STARTUP_PROBE_TIMEOUT: '300',
      },
    });
    expect(c).toMatchObject({
      maxRetries: 5,
      minRetryBackoffMs: 100,
      maxRetryBackoffMs: 2_000,
      poolSize: 20,
      minIdleConns: 2,
      enableAutoPipelining: true,
      keepAliveMs: 60_000,
      healthCheckIntervalMs: 10_000,
      probeIntervalMs: 200,
      startupProbeTimeoutMs: 300,
    });
  });

  it('TLS variables', () => {
    const c = loadConfig({
      env: {
        REDIS_TLS: 'true',
        REDIS_TLS_CA_FILE: ca,
        REDIS_TLS_CERT_FILE: cert,
        REDIS_TLS_KEY_FILE: key,
        REDIS_TLS_SKIP_VERIFY: '1',
        REDIS_TLS_SERVERNAME: 'redis.local',
      },
    });
    expect(c.tls).toEqual({
      caFile: ca,
      certFile: cert,
      keyFile: key,
      skipVerify: true,
      servername: 'redis.local',
    });
    expect(loadConfig({ env: { REDIS_TLS_CA_FILE: ca } }).tls?.caFile).toBe(ca);
    expect(loadConfig({ env: { REDIS_TLS_SKIP_VERIFY: 'false' } }).tls).toBeUndefined();
    expect(
      loadConfig({ env: { REDIS_URL: 'rediss://h', REDIS_TLS_SKIP_VERIFY: 'false' } }).tls,
    ).toBeDefined();
    expect(loadConfig({ env: { REDIS_TLS: 'off', REDIS_URL: 'rediss://h' } }).tls).toBeUndefined();
  });

  it('cluster and sentinel variables', () => {
    expect(
      loadConfig({ env: { REDIS_CLUSTER_MODE: 'true', REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' } }),
    ).toMatchObject({
      mode: 'cluster',
      clusterNodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
    });
    expect(
      loadConfig({
        env: {
          REDIS_SENTINELS: 's1:26379,s2:26380',
          REDIS_SENTINEL_NAME: 'mymaster',
          REDIS_SENTINEL_PASSWORD: 'sp',
        },
      }),
    ).toMatchObject({ mode: 'sentinel', sentinelName: 'mymaster', sentinelPassword: 'sp' });
  });

  it('read replica variables', () => {
    const c = loadConfig({
      env: { REDIS_READ_REPLICAS: 'true', REDIS_READ_REPLICA_URLS: 'redis://r1:1,redis://r2:2' },
    });
    expect(c).toMatchObject({
      readReplicas: true,
      readReplicaUrls: ['redis://r1:1', 'redis://r2:2'],
    });
  });

  it('empty variables count as unset', () => {
    expect(loadConfig({ env: { REDIS_PORT: '', REDIS_URL: '  ' } }).port).toBe(6379);
  });

  it('overrides win; an override url replaces the env host parts', () => {
    expect(loadConfig({ env: { REDIS_PORT: '1' }, overrides: { port: 2 } }).port).toBe(2);
    const c = loadConfig({
      env: { REDIS_HOST: 'envhost', REDIS_PASSWORD: 'envpw', REDIS_COMMAND_TIMEOUT: '1s' },
      overrides: { url: 'redis://h2:3' },
    });
    expect(c).toMatchObject({ host: 'h2', port: 3, password: undefined, commandTimeoutMs: 1_000 });
    expect(
      loadConfig({ env: { REDIS_TLS_CA_FILE: ca }, overrides: { tls: { servername: 'x' } } }).tls,
    ).toMatchObject({ caFile: ca, servername: 'x' });
  });

  it('one ConfigError listing every problem with the variable it came from', () => {
    const error = fail({
      REDIS_PORT: '70000',
      REDIS_DB: '20',
      REDIS_CONNECT_TIMEOUT: '-1s',
      REDIS_TLS_CA_FILE: '/does/not/exist.pem',
      REDIS_CLUSTER_MODE: 'perhaps',
      REDIS_MAX_RETRIES: 'many',
      REDIS_SENTINELS: 's:1',
    });
    expect(error.code).toBe('E_CONFIG');
    expect(error.name).toBe('ConfigError');
    expect(error.issues).toEqual([
      { path: 'port', message: 'must be an integer 1..65535, got "70000" (from REDIS_PORT)' },
      {
        path: 'clusterMode',
        message:
          'must be a boolean (true/false/1/0/yes/no/on/off), got "perhaps" (from REDIS_CLUSTER_MODE)',
      },
      { path: 'sentinelName', message: 'required with sentinels (the monitored master name)' },
      { path: 'db', message: 'must be 0..15, got 20 (from REDIS_DB)' },
      {
        path: 'tls.caFile',
        message: 'file not found: "/does/not/exist.pem" (from REDIS_TLS_CA_FILE)',
      },
      {
        path: 'connectTimeoutMs',
        message: 'must be a positive duration, got "-1s" (from REDIS_CONNECT_TIMEOUT)',
      },
      {
        path: 'maxRetries',
        message: 'must be an integer 0..1000, got "many" (from REDIS_MAX_RETRIES)',
      },
    ]);
    expect(error.message).toMatch(
      /^\[@x\/config\] invalid Redis configuration \(7 problems\): port: must be/,
    );
  });

  it('cluster mode without nodes; cluster + sentinel; sentinel without name', () => {
    expect(fail({ REDIS_CLUSTER_MODE: 'true' }).issues.map((i) => i.path)).toEqual([
      'clusterNodes',
    ]);
    expect(
      fail({
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: 'a:1',
        REDIS_SENTINELS: 's:1',
        REDIS_SENTINEL_NAME: 'm',
      }).issues.map((i) => i.path),
    ).toEqual(['sentinels']);
    expect(
      fail({ REDIS_CLUSTER_MODE: '1', REDIS_CLUSTER_NODES: 'a:1', REDIS_DB: '1' }).issues[0],
    ).toEqual({
      path: 'db',
      message:
        'must be 0 in cluster mode (Redis Cluster has a single database), got 1 (from REDIS_DB)',
    });
  });

  it('a password never appears in a ConfigError', () => {
    const error = fail({
      REDIS_URL: 'redis://admin:Sup3rS3cret@host:1/notadb',
      REDIS_PASSWORD: 'Sup3rS3cret',
      REDIS_READ_REPLICA_URLS: 'redis://:Sup3rS3cret@r:0',
    });
    for (const text of [
      error.message,
      String(error),
      JSON.stringify(error.issues),
      error.stack ?? '',
    ]) {
      expect(text).not.toContain('Sup3rS3cret');
    }
    expect(error.message).toContain('redis://admin:***@host:1/notadb');
    expect(error.message).toContain('redis://:***@r:0');
  });

  it('documents every variable of DESIGN in ENV_VARS', () => {
    for (const name of [
      'REDIS_URL',
      'REDIS_HOST',
      'REDIS_PORT',
      'REDIS_USERNAME',
      'REDIS_PASSWORD',
      'REDIS_DB',
      'REDIS_CONNECT_TIMEOUT',
      'REDIS_COMMAND_TIMEOUT',
      'REDIS_DIAL_TIMEOUT',
      'REDIS_READ_TIMEOUT',
      'REDIS_WRITE_TIMEOUT',
      'REDIS_MAX_RETRIES',
      'REDIS_POOL_SIZE',
      'REDIS_MIN_IDLE_CONNS',
      'REDIS_ENABLE_AUTO_PIPELINING',
      'REDIS_TLS',
      'REDIS_TLS_CA_FILE',
      'REDIS_TLS_CERT_FILE',
      'REDIS_TLS_KEY_FILE',
      'REDIS_TLS_SKIP_VERIFY',
      'REDIS_CLUSTER_MODE',
      'REDIS_CLUSTER_NODES',
      'REDIS_SENTINELS',
      'REDIS_SENTINEL_NAME',
      'REDIS_READ_REPLICAS',
      'REDIS_READ_REPLICA_URLS',
      'REDIS_HEALTH_CHECK_INTERVAL',
      'REDIS_PROBE_INTERVAL',
      'REDIS_STARTUP_PROBE_TIMEOUT',
    ]) {
      expect(ENV_VARS).toHaveProperty(name);
    }
  });
});
