import Redis from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startReplicaSet } from './replica-set';

describe('startReplicaSet', () => {
  it('serves through Sentinel and fails over to a replica', async () => {
    const rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
    expect(rs.nodes).toHaveLength(2);
    expect(rs.sentinels).toHaveLength(3);
    const client = new Redis({
      sentinels: rs.sentinelAddresses,
      name: rs.masterName,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => {});
    try {
      await client.set('before', '1');
      const oldPrimary = rs.primary.port;
      const { from, to } = await rs.failover();
      expect(from).toBe(oldPrimary);
      expect(to).not.toBe(from);
      expect(rs.primary.port).toBe(to);
      // The replica had the data; the client follows the new primary.
      const direct = new Redis({ port: to, host: '127.0.0.1', lazyConnect: true });
      await direct.connect();
      expect(await direct.get('before')).toBe('1');
      expect((await direct.role())[0]).toBe('master');
      direct.disconnect();
    } finally {
      client.disconnect();
    }
  }, 60_000);
});
