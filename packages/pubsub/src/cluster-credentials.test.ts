import { loadConfig } from '@x/config';
import { type ClusterHandle, startCluster, waitFor, withAdmin } from '@x/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPubSub, isPubSubError, type PubSub } from './index.js';

// A Cluster whose nodes authenticate through @x/config's credentials provider (an ioredis
// Connector). ioredis opens its cluster-wide subscriber connection (classic pub/sub) from host,
// port, user and password only, so it would skip the provider and subscribe unauthenticated, as
// the server's default user: a silent change of identity (or NOAUTH / NOPERM where the default
// user is locked down). Sharded pub/sub, whose connections take the Connector, works.

let cluster: ClusterHandle;
const open: PubSub[] = [];
beforeAll(async () => {
  cluster = await startCluster({ masters: 3, user: { name: 'app', password: 'app-secret' } });
  // The default user (the test kit's, for administration) keeps no channel and no key.
  for (const node of cluster.nodes) {
    await withAdmin(node.port, (c) =>
      c.call('ACL', 'SETUSER', 'default', 'resetchannels', 'resetkeys'),
    );
  }
}, 30_000);
afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
  await cluster.stop();
});

function config() {
  return loadConfig({
    env: {
      REDIS_CLUSTER_MODE: 'true',
      REDIS_CLUSTER_NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','),
    },
    overrides: { credentials: () => ({ username: 'app', password: 'app-secret' }) },
  });
}

describe('pub/sub on a Cluster with credentials', () => {
  it('classic subscribe is refused at once, naming the option that works (sharded)', async () => {
    const pubsub = createPubSub({ redis: config(), logger: false });
    open.push(pubsub);
    let error: unknown;
    try {
      pubsub.subscribe('orders');
    } catch (e) {
      error = e;
    }
    expect(isPubSubError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'E_PUBSUB_OPTIONS', field: 'sharded', value: false });
    expect((error as Error).message).toMatch(
      /^\[@x\/pubsub\] invalid sharded: false \(expected true/,
    );
    // Publishing goes through the node connections, which do authenticate.
    expect(await pubsub.publish('orders', { id: 1 })).toBe(0);
  });

  it('sharded pub/sub subscribes as the configured user and delivers', async () => {
    const pubsub = createPubSub({ redis: config(), logger: false, sharded: true });
    open.push(pubsub);
    const sub = pubsub.subscribe('orders');
    const got: unknown[] = [];
    sub.on('message', ({ data }) => got.push(data));
    await sub.ready;
    await pubsub.publish('orders', { id: 2 });
    await waitFor('the message', () => got.length > 0);
    expect(got).toEqual([{ id: 2 }]);
  });
});
