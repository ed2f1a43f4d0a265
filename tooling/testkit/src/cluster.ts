import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { withAdmin } from './_internal/admin';
import { redisCliBin } from './_internal/binaries';
import { type Stoppable, track, untrack } from './_internal/registry';
import { ServerProcess } from './_internal/server-process';
import { waitFor } from './_internal/wait';
import { baseArgs } from './redis-server';
import type { RedisHandle } from './types';

const run = promisify(execFile);

/** Options for {@link startCluster}. */
export interface ClusterOptions {
  /** Number of masters (at least 3, as Redis Cluster requires). @default 3 */
  masters?: number;
  /** Replicas per master. @default 0 */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in ms: how fast a failed master is noticed. @default 1000 */
  nodeTimeoutMs?: number;
  /**
   * An ACL user created on every node (all keys, channels and commands), beside the password-less
   * `default` user the kit uses to administer the cluster.
   */
  user?: { name: string; password: string };
}

/** A Redis Cluster on loopback with all 16384 slots assigned. */
export interface ClusterHandle {
  /** Every node. */
  readonly nodes: RedisHandle[];
  /** The nodes that are masters right now (changes after a failover). */
  readonly masters: RedisHandle[];
  /** The nodes that are replicas right now. */
  readonly replicas: RedisHandle[];
  /** Addresses for `new Cluster(startupNodes)`. */
  readonly startupNodes: { host: string; port: number }[];
  /** Refreshes `masters`/`replicas` from the cluster's own view. */
  refresh(): Promise<void>;
  /**
   * Promotes a replica of master `index` (in `masters` order) with `CLUSTER FAILOVER` and waits
   * until it is a master and the cluster is ok. Needs `replicasPerMaster >= 1`.
   */
  failover(index: number): Promise<{ from: number; to: number }>;
  /** Waits until every running node reports `cluster_state:ok`. */
  waitForOk(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

class ClusterSet implements ClusterHandle, Stoppable {
  readonly nodes: ServerProcess[];
  #roles = new Map<number, { master: boolean; id: string; masterId: string | undefined }>();

  constructor(nodes: ServerProcess[]) {
    this.nodes = nodes;
  }

  get masters(): RedisHandle[] {
    return this.nodes.filter((n) => this.#roles.get(n.port)?.master);
  }
  get replicas(): RedisHandle[] {
    return this.nodes.filter((n) => this.#roles.get(n.port)?.master === false);
  }
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  async refresh(): Promise<void> {
    const alive = this.nodes.find((n) => !n.stopped && !n.frozen);
    if (!alive) return;
    const text = (await withAdmin(alive.port, (c) => c.call('CLUSTER', 'NODES'))) as string;
    this.#roles.clear();
    for (const line of text.trim().split('\n')) {
      const [id, addr, flags, masterId] = line.split(' ');
      const port = Number(addr?.split('@')[0]?.split(':')[1]);
      if (!id || !flags || flags.includes('fail') || flags.includes('noaddr')) continue;
      this.#roles.set(port, {
        id,
        master: flags.includes('master'),
        masterId: masterId === '-' ? undefined : masterId,
      });
    }
  }

  async waitForOk(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        for (const n of this.nodes) {
          if (n.stopped || n.frozen) continue;
          const info = (await withAdmin(n.port, (c) => c.call('CLUSTER', 'INFO'))) as string;
          if (!info.includes('cluster_state:ok')) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 50 },
    );
    await this.refresh();
  }

  async failover(index: number): Promise<{ from: number; to: number }> {
    await this.refresh();
    const master = this.masters[index];
    if (!master) throw new Error(`[@x/testkit] no master at index ${index}`);
    const masterId = this.#roles.get(master.port)?.id;
    const replica = this.nodes.find((n) => this.#roles.get(n.port)?.masterId === masterId);
    if (!replica) throw new Error('[@x/testkit] failover needs replicasPerMaster >= 1');
    await withAdmin(replica.port, (c) => c.call('CLUSTER', 'FAILOVER'));
    await waitFor(
      `replica ${replica.port} to become master`,
      async () => (await withAdmin(replica.port, (c) => c.role()))[0] === 'master',
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    await this.waitForOk();
    // Gossip may lag behind the promotion: wait until the cluster's own view shows it.
    await waitFor(`the cluster view to list ${replica.port} as master`, async () => {
      await this.refresh();
      return this.#roles.get(replica.port)?.master === true;
    });
    return { from: master.port, to: replica.port };
  }

  async stop(): Promise<void> {
    untrack(this);
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
  }
}

/**
 * Starts a real Redis Cluster on loopback (`masters × (1 + replicasPerMaster)` processes), assigns
 * all slots with `redis-cli --cluster create`, and waits until every node reports ok.
 *
 * @example
 * const cluster = await startCluster({ masters: 3 });
 * const client = new Cluster(cluster.startupNodes);
 */
export async function startCluster(options: ClusterOptions = {}): Promise<ClusterHandle> {
  const { masters = 3, replicasPerMaster = 0, nodeTimeoutMs = 1_000, user } = options;
  const userArgs = user
    ? ['--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all']
    : [];
  if (masters < 3) throw new Error('[@x/testkit] a Redis Cluster needs at least 3 masters');
  const count = masters * (1 + replicasPerMaster);
  const nodes = await Promise.all(
    Array.from({ length: count }, () =>
      new ServerProcess({
        needsBusPort: true,
        ready: /Ready to accept connections/,
        url: (port) => `redis://127.0.0.1:${port}`,
        args: (port, dir, logfile) => [
          ...baseArgs(port, dir, logfile),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--cluster-announce-ip',
          '127.0.0.1',
          ...userArgs,
        ],
      }).start(),
    ),
  );
  const set = new ClusterSet(nodes);
  track(set);
  await run(
    redisCliBin(),
    [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ],
    { timeout: 30_000 },
  );
  await set.waitForOk();
  // cluster_state:ok only says every slot is served: the nodes that `--cluster create` made
  // replicas can still be listed as masters until gossip catches up. Wait for the full layout.
  await waitFor(
    `the cluster view to list ${masters} masters and ${count - masters} replicas`,
    async () => {
      await set.refresh();
      return set.masters.length === masters && set.replicas.length === count - masters;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  if (replicasPerMaster > 0) {
    await waitFor(
      'replicas to finish their first sync',
      async () => {
        for (const r of set.replicas) {
          const info = await withAdmin(r.port, (c) => c.info('replication'));
          if (!info.includes('master_link_status:up')) return false;
        }
        return true;
      },
      { timeoutMs: 15_000 },
    );
  }
  return set;
}
