import { startCluster, waitFor } from '@x/testkit';
import type { Cluster, Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { createConnection } from './index.js';

// The step a topology refresh takes: the pool is reset to the nodes CLUSTER SLOTS lists.
interface Pool {
  reset(nodes: { host: string; port: number }[]): void;
}

it('a Cluster node the pool lost while connected is closed, and close() leaves no node open', async () => {
  const cluster = await startCluster({ masters: 3 });
  const connection = createConnection({
    redis: { clusterNodes: cluster.startupNodes, mode: 'cluster' },
    logger: false,
  });
  const seen = new Set<Redis>();
  try {
    await connection.ready({ timeoutMs: 5_000 });
    const client = connection.client as Cluster;
    // Every node connected, as commands (or the near cache's tracker) do.
    await Promise.all(client.nodes('all').map((node) => node.ping()));
    for (const node of client.nodes('all')) seen.add(node);
    const [dropped, ...kept] = client.nodes('all');
    const address = (node: Redis) => ({ host: node.options.host!, port: node.options.port! });
    const created: Redis[] = [];
    client.on('+node', (node: Redis) => {
      created.push(node);
      seen.add(node);
      node.connect().catch(() => {});
    });
    // A node leaves the topology and comes back before its old connection has ended: ioredis 5
    // then removes the new node from the pool when the old one ends (it removes by address),
    // though the new one is connected.
    const pool = (client as unknown as { connectionPool: Pool }).connectionPool;
    pool.reset(kept.map(address));
    pool.reset([address(dropped!), ...kept.map(address)]);
    expect(created).toHaveLength(1);
    const replacement = created[0]!;
    await waitFor('the old node ended', () => dropped!.status === 'end', { timeoutMs: 5_000 });
    // Either the pool still holds it (ioredis 6), or it was closed: never connected and lost.
    await waitFor(
      'the replacement node in the pool or closed',
      () => client.nodes('all').includes(replacement) || replacement.status === 'end',
      { timeoutMs: 5_000 },
    );
    if (!client.nodes('all').includes(replacement)) {
      expect(replacement.status).toBe('end');
    }
  } finally {
    await connection.close();
  }
  const client = connection.client as Cluster;
  expect(seen.size).toBe(4);
  // ioredis 5 may leave a closed Cluster in 'close' (its pool drains twice); no node is open.
  await waitFor(
    'the client and every node connection closed',
    () =>
      (client.status === 'end' || client.status === 'close') &&
      [...seen].every((node) => node.status === 'end'),
    { timeoutMs: 5_000 },
  );
});
