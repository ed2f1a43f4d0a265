import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from './config.js';
import { redactConfig } from './redact-config.js';
import { isValidatedConfig, validateConfig } from './validate-config.js';

const dir = mkdtempSync(join(tmpdir(), 'x-config-'));
const caFile = join(dir, 'ca.pem');
writeFileSync(caFile, 'not really a CA');

function issuesOf(input: unknown): Record<string, string> {
  const result = validateConfig(input);
  if (result.ok) throw new Error('expected issues');
  return Object.fromEntries(result.issues.map((i) => [i.path, i.message]));
}

describe('validateConfig', () => {
  it('fills the defaults from DESIGN', () => {
    const result = validateConfig({});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const c = result.config;
    expect(c).toMatchObject({
      mode: 'standalone',
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      tls: undefined,
      connectTimeoutMs: 5_000,
      commandTimeoutMs: 3_000,
      maxRetries: 3,
      minRetryBackoffMs: 1_000,
      maxRetryBackoffMs: 3_000,
      poolSize: 10,
      minIdleConns: 5,
      healthCheckIntervalMs: 30_000,
      probeIntervalMs: 5_000,
      startupProbeTimeoutMs: 1_000,
      reconnect: { jitter: 'full', minDelayMs: 50, maxDelayMs: 500 },
      readReplicas: false,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(isValidatedConfig(c)).toBe(true);
    expect(isValidatedConfig({ ...c })).toBe(false);
    expect(CONFIG_DEFAULTS.connectTimeoutMs).toBe(5_000);
  });

  it('explicit fields win over the URL', () => {
    const result = validateConfig({ url: 'rediss://u:p@h:7000/3', db: '5', port: 7001 });
    expect(result.ok && { ...result.config }).toMatchObject({
      host: 'h',
      port: 7001,
      username: 'u',
      password: 'p',
      db: 5,
      tls: { skipVerify: false, caFile: undefined },
    });
  });

  it('accepts its own output (a RedisConfig is a valid input)', () => {
    const first = validateConfig({
      clusterMode: true,
      clusterNodes: 'a:1,b:2',
      tls: { caFile },
      password: 'x',
      readReplicas: 'yes',
    });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const second = validateConfig({ ...first.config });
    expect(second.ok).toBe(true);
    if (second.ok) expect({ ...second.config }).toEqual({ ...first.config });
  });

  it('reports every problem at once, each with its path', () => {
    const issues = issuesOf({
      url: 'http://x',
      port: 70000,
      db: 16,
      connectTimeoutMs: -5,
      commandTimeoutMs: 'soon',
      enableAutoPipelining: 'maybe',
      maxRetries: 1.5,
      tls: { caFile: '/nope/ca.pem', certFile: join(dir, 'missing.pem') },
      poolSize: 2,
      minIdleConns: 3,
      reconnect: { jitter: 'sometimes', minDelayMs: 100, maxDelayMs: 10 },
      sentinels: 'bad host:1',
      hots: 'typo',
    });
    expect(issues).toEqual({
      url: 'unsupported scheme "http:" in "http://x" (expected redis:// or rediss://)',
      port: 'must be an integer 1..65535, got 70000',
      db: 'must be 0..15, got 16',
      connectTimeoutMs: 'must be a positive duration, got -5',
      commandTimeoutMs: `must be a duration (ms, or e.g. '500ms', '5s', '10m', '24h'), got "soon"`,
      enableAutoPipelining: 'must be a boolean (true/false/1/0/yes/no/on/off), got "maybe"',
      maxRetries: 'must be an integer 0..1000, got 1.5',
      'tls.caFile': 'file not found: "/nope/ca.pem"',
      'tls.certFile': `file not found: ${JSON.stringify(join(dir, 'missing.pem'))}`,
      'tls.keyFile': 'certFile and keyFile go together (mutual TLS): give both, or neither',
      minIdleConns: 'must be <= poolSize (2), got 3',
      'reconnect.jitter': 'must be one of none, full, equal, decorrelated, got "sometimes"',
      'reconnect.maxDelayMs': 'must be >= reconnect.minDelayMs (100), got 10',
      'sentinels[0]':
        'must be host:port, [ipv6]:port or a redis:// / rediss:// URL with a port 1..65535, got "bad host:1"',
      sentinelName: 'required with sentinels (the monitored master name)',
      hots: 'unknown option: did you mean host?',
    });
  });

  it('unknown options name the closest field; a relative path names the working directory', () => {
    expect(
      issuesOf({ passwrod: 'x', somethingElse: 1, tls: { cafile: 'ca.pem' }, clusterNodes: 'a:1' }),
    ).toEqual({
      passwrod: 'unknown option: did you mean password?',
      somethingElse: 'unknown option (not a field of RedisConfigInput): remove it',
      'tls.cafile': 'unknown option: did you mean caFile?',
      clusterNodes:
        'only used in cluster mode: set clusterMode (REDIS_CLUSTER_MODE=true), or remove the nodes',
    });
    expect(issuesOf({ tls: { caFile: 'certs/missing.pem' } })).toEqual({
      'tls.caFile': `file not found: "certs/missing.pem" (relative to the working directory ${process.cwd()})`,
    });
  });

  it('cluster: needs nodes, only db 0, not with sentinels', () => {
    expect(issuesOf({ clusterMode: true })).toEqual({
      clusterNodes:
        'required in cluster mode (e.g. "10.0.0.1:6379,10.0.0.2:6379" or "redis://:password@node1:6379,redis://:password@node2:6379")',
    });
    expect(issuesOf({ clusterMode: 'true', clusterNodes: 'a:1', db: 2 })).toEqual({
      db: 'must be 0 in cluster mode (Redis Cluster has a single database), got 2',
    });
    expect(
      issuesOf({
        clusterMode: true,
        clusterNodes: ['a:1'],
        sentinels: 's:26379',
        sentinelName: 'm',
      }),
    ).toEqual({
      sentinels:
        'cluster mode and sentinels cannot both be set: a deployment is either a Redis Cluster or a primary watched by Sentinel; remove one',
    });
    const ok = validateConfig({ clusterMode: '1', clusterNodes: 'a:7000, [::1]:7001,b' });
    expect(ok.ok && ok.config.clusterNodes).toEqual([
      { host: 'a', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'b', port: 6379 },
    ]);
    expect(ok.ok && ok.config.mode).toBe('cluster');
  });

  it('sentinel: needs a name; default port 26379', () => {
    expect(issuesOf({ sentinels: ['s1:26379'] })).toEqual({
      sentinelName: 'required with sentinels (the monitored master name)',
    });
    expect(issuesOf({ sentinelName: 'mymaster' })).toEqual({
      sentinelName: 'only used with sentinels: set sentinels (REDIS_SENTINELS), or remove it',
    });
    const ok = validateConfig({ sentinels: 's1,s2:26380', sentinelName: 'mymaster', db: 3 });
    expect(ok.ok && { ...ok.config }).toMatchObject({
      mode: 'sentinel',
      sentinelName: 'mymaster',
      db: 3,
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
    });
  });

  it('read replicas: urls required in standalone, validated, not in sentinel/cluster', () => {
    expect(issuesOf({ readReplicas: true })).toEqual({
      readReplicaUrls:
        'required when readReplicas is on in standalone mode: list the replicas (REDIS_READ_REPLICA_URLS), or turn readReplicas off',
    });
    expect(issuesOf({ readReplicaUrls: 'redis://a:1,ftp://b' })).toEqual({
      'readReplicaUrls[1]':
        'unsupported scheme "ftp:" in "ftp://b" (expected redis:// or rediss://)',
    });
    expect(
      issuesOf({ clusterMode: true, clusterNodes: 'a:1', readReplicaUrls: 'redis://r:1' }),
    ).toEqual({
      readReplicaUrls: 'only used in standalone mode (cluster finds its replicas itself)',
    });
    const ok = validateConfig({ readReplicaUrls: 'redis://r1:1, redis://r2:2' });
    expect(ok.ok && ok.config.readReplicas).toBe(true);
    expect(ok.ok && ok.config.readReplicaUrls).toEqual(['redis://r1:1', 'redis://r2:2']);
  });

  it('TLS: files enable it and must exist; skipVerify alone enables it', () => {
    const withCa = validateConfig({ tls: { caFile } });
    expect(withCa.ok && withCa.config.tls).toEqual({
      caFile,
      certFile: undefined,
      keyFile: undefined,
      skipVerify: false,
      servername: undefined,
    });
    const off = validateConfig({ tls: 'false' });
    expect(off.ok && off.config.tls).toBeUndefined();
    const on = validateConfig({ tls: 'on' });
    expect(on.ok && on.config.tls?.skipVerify).toBe(false);
    expect(issuesOf({ tls: 'sure' })).toEqual({
      tls: 'must be a boolean (true/false/1/0/yes/no/on/off), got "sure"',
    });
  });

  it('rejects non-objects', () => {
    expect(validateConfig(42)).toEqual({
      ok: false,
      issues: [{ path: '', message: 'expected an object or a URL, got 42' }],
    });
    expect(validateConfig('redis://h:1').ok).toBe(true);
  });

  it('never lets a password out: messages, JSON, String, inspect, redactConfig', () => {
    const secret = 'Pa55-w0rd-xyz';
    const bad = validateConfig({
      url: `redis://user:${secret}@host:1/99x`,
      password: 12 as never,
      sentinelPassword: { secret } as never,
      readReplicaUrls: [`redis://u:${secret}@r:70000`],
    });
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain(secret);
    expect(JSON.stringify(bad)).toContain('redis://user:***@host:1/99x');

    const good = validateConfig({
      url: `redis://user:${secret}@host:1`,
      sentinels: 's:1',
      sentinelName: 'm',
      sentinelPassword: secret,
    });
    expect(good.ok).toBe(true);
    if (!good.ok) return;
    const c = good.config;
    expect(c.password).toBe(secret);
    for (const out of [
      JSON.stringify(c),
      String(c),
      `${c}`,
      inspect(c),
      inspect({ nested: c }, { depth: 5 }),
    ]) {
      expect(out).not.toContain(secret);
      expect(out).toContain('***');
    }
    const redacted = redactConfig(c);
    expect(redacted.password).toBe('***');
    expect(redacted.sentinelPassword).toBe('***');
    expect(JSON.stringify(redacted)).not.toContain(secret);
    const standalone = validateConfig({ readReplicaUrls: [`redis://:${secret}@r:1`] });
    expect(standalone.ok && redactConfig(standalone.config).readReplicaUrls).toEqual([
      'redis://:***@r:1',
    ]);
    expect(standalone.ok && JSON.stringify(standalone.config)).not.toContain(secret);
  });
});
