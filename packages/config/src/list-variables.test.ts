import { inspect } from 'node:util';
import { startCluster, withAdmin } from '@x/testkit';
import type { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient, isCluster, toIORedisOptions } from './client.js';
import { isConfigError } from './errors.js';
import { loadConfig } from './load-config.js';
import { redactConfig } from './redact-config.js';
import { validateConfig } from './validate-config.js';
import { waitForReady } from './wait-for-ready.js';

function issues(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig({ env });
  } catch (error) {
    if (!isConfigError(error)) throw error;
    return Object.fromEntries(error.issues.map((i) => [i.path, i.message]));
  }
  throw new Error('expected a ConfigError');
}

const SECRET = 'n0t-for-logs';

describe('REDIS_CLUSTER_NODES', () => {
  it('accepts the redis:// form of the services this library replaces', () => {
    const config = loadConfig({
      env: {
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: 'redis://node1:6379,redis://node2:6379',
      },
    });
    expect(config.mode).toBe('cluster');
    expect(config.clusterNodes).toEqual([
      { host: 'node1', port: 6379 },
      { host: 'node2', port: 6379 },
    ]);
    expect(config.password).toBeUndefined();
    expect(config.tls).toBeUndefined();
  });

  it('mixes host:port, [ipv6]:port and URLs; the URL credentials and TLS apply to the cluster', () => {
    const config = loadConfig({
      env: {
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: `10.0.0.1:7000, [fd00::2]:7001,rediss://app:${SECRET}@node3:7002,rediss://app:${SECRET}@node4`,
      },
    });
    expect(config.clusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'fd00::2', port: 7001 },
      { host: 'node3', port: 7002 },
      { host: 'node4', port: 6379 },
    ]);
    expect(config.username).toBe('app');
    expect(config.password).toBe(SECRET);
    expect(config.tls).toBeDefined();
    const options = toIORedisOptions(config);
    expect(options).toMatchObject({ username: 'app', password: SECRET });
    expect(options.tls).toEqual({});
    for (const text of [String(config), JSON.stringify(config), inspect(config)]) {
      expect(text).not.toContain(SECRET);
    }
  });

  it('REDIS_PASSWORD / REDIS_USERNAME fill what the URLs leave out', () => {
    const config = loadConfig({
      env: {
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: 'redis://node1:6379,redis://node2:6379',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: SECRET,
      },
    });
    expect(config).toMatchObject({ username: 'app', password: SECRET });
  });

  it('conflicts are issues, and no message shows a password', () => {
    const found = issues({
      REDIS_CLUSTER_MODE: 'true',
      REDIS_CLUSTER_NODES: `redis://:${SECRET}@a:1,redis://:other-${SECRET}@b:2,rediss://c:3,redis://d:4/2`,
      REDIS_PASSWORD: `third-${SECRET}`,
    });
    expect(found).toEqual({
      'clusterNodes[0]':
        'the password in this URL differs from password: give it once (in password or in the URLs) (from REDIS_CLUSTER_NODES)',
      'clusterNodes[1]':
        'user or password differs from clusterNodes[0]: every node of a Cluster takes the same user and password (from REDIS_CLUSTER_NODES)',
      'clusterNodes[2]':
        'rediss:// differs from redis:// in clusterNodes[0]: every node of a Cluster uses TLS, or none does (from REDIS_CLUSTER_NODES)',
      'clusterNodes[3]':
        'a Cluster has a single database (0), got /2 in the URL (from REDIS_CLUSTER_NODES)',
    });
    expect(JSON.stringify(found)).not.toContain(SECRET);
    expect(
      issues({
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: 'rediss://a:1,b:2',
        REDIS_TLS: 'false',
      }),
    ).toEqual({
      'clusterNodes[0]':
        'rediss:// asks for TLS, but TLS is turned off (tls / REDIS_TLS): remove one of the two (from REDIS_CLUSTER_NODES)',
    });
    expect(
      issues({ REDIS_CLUSTER_MODE: 'true', REDIS_CLUSTER_NODES: 'redis://a:1', REDIS_TLS: 'true' }),
    ).toEqual({
      'clusterNodes[0]':
        'redis:// asks for plain TCP, but TLS is on (tls / REDIS_TLS / a rediss:// url): write rediss:// or host:port (from REDIS_CLUSTER_NODES)',
    });
    const bad = issues({
      REDIS_CLUSTER_MODE: 'true',
      REDIS_CLUSTER_NODES: `redis://:${SECRET}@a:99999,http://b:1,c:d`,
    });
    expect(Object.keys(bad)).toEqual(['clusterNodes[0]', 'clusterNodes[1]', 'clusterNodes[2]']);
    expect(bad['clusterNodes[2]']).toBe(
      'must be host:port, [ipv6]:port or a redis:// / rediss:// URL with a port 1..65535, got "c:d" (from REDIS_CLUSTER_NODES)',
    );
    expect(JSON.stringify(bad)).not.toContain(SECRET);
  });

  it('redactConfig hides the passwords of every URL in an input list', () => {
    const input = {
      clusterMode: true,
      clusterNodes: `redis://:${SECRET}@a:1,redis://u:${SECRET}@b:2`,
      sentinels: [`redis://:${SECRET}@s:1`],
      readReplicaUrls: `redis://:${SECRET}@r1:1,redis://:${SECRET}@r2:2`,
    };
    const redacted = redactConfig(input);
    expect(redacted).toMatchObject({
      clusterNodes: 'redis://:***@a:1,redis://u:***@b:2',
      sentinels: ['redis://:***@s:1'],
      readReplicaUrls: 'redis://:***@r1:1,redis://:***@r2:2',
    });
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
  });
});

describe('REDIS_SENTINELS', () => {
  it('URLs give the sentinel credentials and TLS; port 26379 by default', () => {
    const config = loadConfig({
      env: {
        REDIS_SENTINELS: `rediss://watcher:${SECRET}@s1,rediss://watcher:${SECRET}@[fd00::3]:26380,s3`,
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_PASSWORD: 'data-node-password',
      },
    });
    expect(config).toMatchObject({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 'fd00::3', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      sentinelUsername: 'watcher',
      sentinelPassword: SECRET,
      sentinelTls: true,
      password: 'data-node-password',
      tls: undefined,
    });
    const options = toIORedisOptions(config);
    expect(options).toMatchObject({
      sentinelUsername: 'watcher',
      sentinelPassword: SECRET,
      sentinelTLS: {},
      password: 'data-node-password',
    });
    expect(options.tls).toBeUndefined();
    expect(JSON.stringify(redactConfig(config))).not.toContain(SECRET);
  });

  it('a db in a sentinel URL and conflicting credentials are issues', () => {
    expect(
      issues({
        REDIS_SENTINELS: 'redis://:a@s1:26379/1,redis://:b@s2:26379',
        REDIS_SENTINEL_NAME: 'm',
      }),
    ).toEqual({
      'sentinels[0]':
        'a Sentinel has no database: remove /1 from the URL and set the data database with db (REDIS_DB) (from REDIS_SENTINELS)',
      'sentinels[1]':
        'user or password differs from sentinels[0]: every Sentinel takes the same user and password (from REDIS_SENTINELS)',
    });
  });
});

describe('REDIS_READ_REPLICA_URLS', () => {
  it('accepts host:port and URLs, mixed', () => {
    const config = loadConfig({
      env: { REDIS_READ_REPLICA_URLS: `replica1:6380,[::1]:6381, rediss://:${SECRET}@replica3` },
    });
    expect(config.readReplicas).toBe(true);
    expect(config.readReplicaUrls).toEqual([
      'redis://replica1:6380',
      'redis://[::1]:6381',
      `rediss://:${SECRET}@replica3`,
    ]);
    expect(JSON.stringify(config)).not.toContain(SECRET);
    const bad = validateConfig({ readReplicaUrls: ['replica1:0'] });
    expect(bad.ok ? [] : bad.issues).toEqual([
      {
        path: 'readReplicaUrls[0]',
        message:
          'must be host:port, [ipv6]:port or a redis:// / rediss:// URL with a port 1..65535, got "replica1:0"',
      },
    ]);
  });
});

describe('a real Cluster reached through redis:// node URLs with an ACL user', () => {
  let client: Cluster | undefined;
  afterAll(() => client?.disconnect());

  it('authenticates every node with the user of the URLs', async () => {
    const cluster = await startCluster({ masters: 3 });
    for (const node of cluster.nodes) {
      await withAdmin(node.port, (c) =>
        c.call('ACL', 'SETUSER', 'app', 'on', `>${SECRET}`, '~*', '&*', '+@all'),
      );
    }
    const config = loadConfig({
      env: {
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: cluster.startupNodes
          .map((n) => `redis://app:${SECRET}@${n.host}:${n.port}`)
          .join(','),
      },
    });
    const created = createRedisClient(config);
    expect(isCluster(created)).toBe(true);
    client = created as Cluster;
    await waitForReady(client, { timeoutMs: 5_000 });
    for (let i = 0; i < 20; i++) await client.set(`k${i}`, String(i));
    const users = await Promise.all(client.nodes('master').map((n) => n.call('ACL', 'WHOAMI')));
    expect(users).toEqual(['app', 'app', 'app']);
  });
});
