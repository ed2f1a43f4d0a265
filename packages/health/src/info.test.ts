import { startCluster, startRedis, startReplicaSet, waitFor } from '@x/testkit';
import fc from 'fast-check';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_INFO_SECTION, parseInfo, serverStats, toServerStats } from './info.js';

const clients: Array<Redis | Cluster> = [];
function track<T extends Redis | Cluster>(client: T): T {
  client.on('error', () => {});
  clients.push(client);
  return client;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

/** A future server's INFO: unknown sections and fields, CRLF, odd lines. */
const FIXTURE = [
  'preamble_field:1',
  '# Server',
  'redis_version:9.9.9',
  'redis_mode:standalone',
  'uptime_in_seconds:42',
  'brand_new_field:some value with spaces',
  'field_with_colon:a:b:c',
  '',
  'this line has no colon',
  '# Clients',
  'connected_clients:7',
  '# Memory',
  'used_memory:2048',
  'used_memory_human:2.00K',
  'maxmemory:104857600',
  'maxmemory_human:100.00M',
  'maxmemory_policy:allkeys-lfu',
  '# Persistence',
  'loading:0',
  'aof_enabled:1',
  'rdb_last_save_time:1700000000',
  '# Replication',
  'role:master',
  'connected_slaves:2',
  'slave0:ip=10.0.0.2,port=6380,state=online,offset=123,lag=0',
  'slave1:ip=10.0.0.3,port=6381,state=wait_bgsave,offset=0,lag=3',
  '# Modules',
  'module:name=search,ver=20000,api=1,filters=0,usedby=[],using=[],options=[]',
  'module:name=ReJSON,ver=20000,api=1,filters=0,usedby=[search],using=[],options=[]',
  '# Quantum',
  'qubits:9000',
  'entangled:k1=v1,k2=v2',
  '# Keyspace',
  'db0:keys=10,expires=2,avg_ttl=0',
  'db3:keys=5,expires=0,avg_ttl=0,subexpiry=0',
  '',
].join('\r\n');

describe('parseInfo', () => {
  it('parses a fixture with unknown sections and fields, CRLF line ends and odd lines', () => {
    const info = parseInfo(FIXTURE);
    expect(Object.keys(info)).toEqual([
      DEFAULT_INFO_SECTION,
      'server',
      'clients',
      'memory',
      'persistence',
      'replication',
      'modules',
      'quantum',
      'keyspace',
    ]);
    expect(info[DEFAULT_INFO_SECTION]).toEqual({ preamble_field: '1' });
    expect(info.server?.redis_version).toBe('9.9.9');
    expect(info.server?.brand_new_field).toBe('some value with spaces');
    expect(info.server?.field_with_colon).toBe('a:b:c');
    expect(Object.keys(info.server ?? {})).not.toContain('this line has no colon');
    expect(info.quantum).toEqual({ qubits: '9000', entangled: { k1: 'v1', k2: 'v2' } });
    expect(info.keyspace?.db0).toEqual({ keys: '10', expires: '2', avg_ttl: '0' });
    expect(info.replication?.slave1).toEqual({
      ip: '10.0.0.3',
      port: '6381',
      state: 'wait_bgsave',
      offset: '0',
      lag: '3',
    });
    expect(info.modules?.module).toMatchObject({ name: 'search' });
    expect(info.modules?.['module#1']).toMatchObject({ name: 'ReJSON', usedby: '[search]' });
    // No \r leaks into values.
    expect(JSON.stringify(info)).not.toContain('\\r');
  });

  it('gives the same result for LF and CRLF, and tolerates empty or junk input', () => {
    expect(parseInfo(FIXTURE.replaceAll('\r\n', '\n'))).toEqual(parseInfo(FIXTURE));
    expect(parseInfo('')).toEqual({});
    expect(parseInfo('\r\n\r\n#\r\n')).toEqual({ '': {} });
    expect(parseInfo('garbage')).toEqual({});
  });

  it('round-trips any well-formed INFO text, with LF or CRLF (property)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
    const plain = fc.stringMatching(/^[a-zA-Z0-9 .:/_-]{0,20}$/).map((v) => v.trim());
    const pairs = fc.dictionary(name, fc.stringMatching(/^[a-z0-9.:]{0,8}$/), {
      minKeys: 1,
      maxKeys: 4,
    });
    const value = fc.oneof(
      plain.filter((v) => !/^[\w.-]+=/.test(v)),
      pairs,
    );
    const info = fc.dictionary(name, fc.dictionary(name, value, { maxKeys: 6 }), { maxKeys: 5 });
    fc.assert(
      fc.property(info, fc.constantFrom('\n', '\r\n'), (sections, eol) => {
        const text = Object.entries(sections)
          .map(([section, fields]) =>
            [
              `# ${section[0]?.toUpperCase()}${section.slice(1)}`,
              ...Object.entries(fields).map(
                ([k, v]) =>
                  `${k}:${
                    typeof v === 'string'
                      ? v
                      : Object.entries(v)
                          .map(([a, b]) => `${a}=${b}`)
                          .join(',')
                  }`,
              ),
            ].join(eol),
          )
          .join(eol + eol);
        expect(JSON.parse(JSON.stringify(parseInfo(text)))).toEqual(sections);
      }),
      { numRuns: 200 },
    );
  });

  it('toServerStats() types a fixture', () => {
    const stats = toServerStats(parseInfo(FIXTURE));
    expect(stats).toMatchObject({
      version: '9.9.9',
      mode: 'standalone',
      role: 'master',
      uptimeSeconds: 42,
      connectedClients: 7,
      usedMemory: { bytes: 2048, human: '2.00K' },
      maxmemory: { bytes: 104_857_600, human: '100.00M', policy: 'allkeys-lfu' },
      persistence: { aofEnabled: true, rdbLastSaveTime: 1_700_000_000, loading: false },
      keys: 15,
    });
    expect(stats.replication).toEqual({
      role: 'master',
      connectedReplicas: 2,
      replicas: [
        { host: '10.0.0.2', port: 6380, state: 'online', offset: 123, lag: 0 },
        { host: '10.0.0.3', port: 6381, state: 'wait_bgsave', offset: 0, lag: 3 },
      ],
    });
  });

  it('parses the INFO of a real standalone server', async () => {
    const redis = await startRedis({
      args: ['--maxmemory', '10mb', '--maxmemory-policy', 'allkeys-lru'],
    });
    const client = track(new Redis(redis.url));
    await client.set('a', '1');
    await client.set('b', '2', 'PX', 60_000);
    const text = await client.info('everything');
    expect(text).toContain('\r\n'); // real replies use CRLF
    const info = parseInfo(text);
    for (const section of [
      'server',
      'clients',
      'memory',
      'persistence',
      'stats',
      'replication',
      'cpu',
      'keyspace',
    ]) {
      expect(info, section).toHaveProperty(section);
    }
    expect(info.server?.redis_version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.server?.tcp_port).toBe(String(redis.port));
    expect(info.keyspace?.db0).toMatchObject({ keys: '2', expires: '1' });
    expect(info.commandstats?.cmdstat_set).toMatchObject({ calls: '2' });

    const stats = await serverStats(client);
    expect(stats.version).toBe(info.server?.redis_version);
    expect(stats.mode).toBe('standalone');
    expect(stats.role).toBe('master');
    expect(stats.maxmemory).toEqual({
      bytes: 10 * 1024 * 1024,
      human: '10.00M',
      policy: 'allkeys-lru',
    });
    expect(stats.usedMemory.bytes).toBeGreaterThan(0);
    expect(stats.usedMemory.human).toMatch(/^[\d.]+[BKMG]$/);
    expect(stats.connectedClients).toBeGreaterThanOrEqual(1);
    expect(stats.keys).toBe(2);
    expect(stats.persistence.aofEnabled).toBe(false);
    expect(stats.replication).toEqual({ role: 'master', connectedReplicas: 0, replicas: [] });
  });

  it('parses the INFO of a real replica set: master, replica and sentinel', async () => {
    const rs = await startReplicaSet({ replicas: 1, sentinels: 1 });
    const primary = track(new Redis(rs.primary.url));
    const replicaHandle = rs.replicas[0]!;
    const replica = track(new Redis(replicaHandle.url));
    const sentinel = track(new Redis(rs.sentinelAddresses[0]!));

    const m = await waitFor('replica online', async () => {
      const s = await serverStats(primary);
      return s.replication.replicas[0]?.state === 'online' ? s : undefined;
    });
    expect(m.role).toBe('master');
    expect(m.replication.connectedReplicas).toBe(1);
    expect(m.replication.replicas[0]).toMatchObject({
      host: '127.0.0.1',
      port: replicaHandle.port,
    });

    const r = await serverStats(replica);
    expect(r.role).toBe('replica');
    expect(r.mode).toBe('standalone');
    expect(r.replication).toMatchObject({
      role: 'replica',
      masterLinkStatus: 'up',
      masterHost: '127.0.0.1',
      masterPort: rs.primary.port,
      masterSyncInProgress: false,
    });

    const sText = (await sentinel.info()) as string;
    const sInfo = parseInfo(sText);
    expect(sInfo.sentinel?.master0).toMatchObject({
      name: rs.masterName,
      status: 'ok',
      address: `127.0.0.1:${rs.primary.port}`,
    });
    const s = toServerStats(sInfo);
    expect(s.mode).toBe('sentinel');
    expect(s.role).toBe('sentinel');
  });

  it('parses the INFO of a real cluster node through a Cluster client', async () => {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 0 });
    const client = track(new Cluster(cluster.startupNodes, { lazyConnect: false }));
    await waitFor('cluster ready', () => client.status === 'ready');
    const stats = await serverStats(client as unknown as Redis);
    expect(stats.mode).toBe('cluster');
    expect(stats.role).toBe('master');
    expect(stats.raw.cluster?.cluster_enabled).toBe('1');
  });
});
