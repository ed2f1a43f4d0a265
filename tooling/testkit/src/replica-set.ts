import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAdmin } from './_internal/admin';
import { type Stoppable, track, untrack } from './_internal/registry';
import { ServerProcess } from './_internal/server-process';
import { waitFor } from './_internal/wait';
import { baseArgs } from './redis-server';
import type { RedisHandle } from './types';

/** Options for {@link startReplicaSet}. */
export interface ReplicaSetOptions {
  /** Number of replicas of the primary. @default 1 */
  replicas?: number;
  /** Number of Sentinel processes (quorum is a majority of them). @default 3 */
  sentinels?: number;
  /** Name the sentinels monitor the primary under. @default 'mymaster' */
  masterName?: string;
  /** Sentinel `down-after-milliseconds`. @default 1000 */
  downAfterMs?: number;
  /**
   * An ACL user created on every data node (all keys, channels and commands), beside the
   * password-less `default` user that replication, the sentinels and the kit use.
   */
  user?: { name: string; password: string };
}

/** A primary with replicas, watched by Sentinel processes. */
export interface ReplicaSetHandle {
  readonly masterName: string;
  /** The data node that is the primary right now (changes after a failover). */
  readonly primary: RedisHandle;
  /** The data nodes that are replicas right now. */
  readonly replicas: RedisHandle[];
  /** Every data node (primary and replicas). */
  readonly nodes: RedisHandle[];
  readonly sentinels: RedisHandle[];
  /** Addresses for ioredis `sentinels`. */
  readonly sentinelAddresses: { host: string; port: number }[];
  /**
   * Asks Sentinel for a failover and waits until every sentinel names a new primary and that
   * primary accepts writes. Returns the old and new primary ports.
   */
  failover(): Promise<{ from: number; to: number }>;
  /** Waits until the sentinels agree on a primary that accepts writes; returns its port. */
  waitForPrimary(options?: { not?: number; timeoutMs?: number }): Promise<number>;
  stop(): Promise<void>;
}

class ReplicaSet implements ReplicaSetHandle, Stoppable {
  readonly masterName: string;
  readonly nodes: ServerProcess[];
  readonly sentinels: ServerProcess[];
  #primaryPort: number;

  constructor(masterName: string, nodes: ServerProcess[], sentinels: ServerProcess[]) {
    this.masterName = masterName;
    this.nodes = nodes;
    this.sentinels = sentinels;
    this.#primaryPort = nodes[0]!.port;
  }

  get primary(): RedisHandle {
    return this.nodes.find((n) => n.port === this.#primaryPort)!;
  }
  get replicas(): RedisHandle[] {
    return this.nodes.filter((n) => n.port !== this.#primaryPort);
  }
  get sentinelAddresses(): { host: string; port: number }[] {
    return this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  async #sentinelPrimary(sentinel: ServerProcess): Promise<number> {
    const reply = (await withAdmin(sentinel.port, (c) =>
      c.call('SENTINEL', 'get-master-addr-by-name', this.masterName),
    )) as [string, string] | null;
    return reply ? Number(reply[1]) : -1;
  }

  async waitForPrimary({ not, timeoutMs = 20_000 }: { not?: number; timeoutMs?: number } = {}) {
    const port = await waitFor(
      'the sentinels to agree on a writable primary',
      async () => {
        const seen = await Promise.all(
          this.sentinels
            .filter((s) => !s.stopped && !s.frozen)
            .map((s) => this.#sentinelPrimary(s)),
        );
        const first = seen[0];
        if (first === undefined || first < 0 || first === not) return 0;
        if (!seen.every((p) => p === first)) return 0;
        const role = await withAdmin(first, (c) => c.role());
        if (role[0] !== 'master') return 0;
        await withAdmin(first, (c) => c.set('__x_testkit_probe', '1'));
        return first;
      },
      { timeoutMs, intervalMs: 50 },
    );
    this.#primaryPort = port;
    return port;
  }

  async failover(): Promise<{ from: number; to: number }> {
    const from = this.#primaryPort;
    await waitFor(
      'a sentinel to accept SENTINEL FAILOVER',
      () =>
        withAdmin(this.sentinels[0]!.port, (c) => c.call('SENTINEL', 'FAILOVER', this.masterName)),
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    const to = await this.waitForPrimary({ not: from });
    return { from, to };
  }

  async stop(): Promise<void> {
    untrack(this);
    await Promise.allSettled([...this.sentinels, ...this.nodes].map((p) => p.stop()));
  }
}

/**
 * Starts a primary, `replicas` replicas and `sentinels` Sentinel processes on loopback, and
 * waits until the replicas are in sync and every sentinel knows the replicas and its peers.
 *
 * @example
 * const rs = await startReplicaSet({ replicas: 1, sentinels: 3 });
 * const client = new Redis({ sentinels: rs.sentinelAddresses, name: rs.masterName });
 * await rs.failover();
 */
export async function startReplicaSet(options: ReplicaSetOptions = {}): Promise<ReplicaSetHandle> {
  const { replicas = 1, sentinels = 3, masterName = 'mymaster', downAfterMs = 1_000 } = options;
  const data = (replicaOf?: number) =>
    new ServerProcess({
      ready: /Ready to accept connections/,
      url: (port) => `redis://127.0.0.1:${port}`,
      args: (port, dir, logfile) => [
        ...baseArgs(port, dir, logfile),
        '--replica-announce-ip',
        '127.0.0.1',
        ...(replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
        ...(options.user
          ? ['--user', options.user.name, 'on', `>${options.user.password}`, '~*', '&*', '+@all']
          : []),
      ],
    });
  const primary = await data().start();
  const replicaNodes = await Promise.all(
    Array.from({ length: replicas }, () => data(primary.port).start()),
  );
  await waitFor('replicas in sync', async () => {
    const info = await withAdmin(primary.port, (c) => c.info('replication'));
    const online = info.match(/state=online/g)?.length ?? 0;
    return online === replicas;
  });
  const quorum = Math.floor(sentinels / 2) + 1;
  const sentinelNodes = await Promise.all(
    Array.from({ length: sentinels }, () =>
      new ServerProcess({
        ready: /Sentinel ID is/,
        url: (port) => `redis://127.0.0.1:${port}`,
        args(port, dir, logfile) {
          const conf = join(dir, 'sentinel.conf');
          writeFileSync(
            conf,
            [
              `port ${port}`,
              'bind 127.0.0.1',
              'protected-mode no',
              'daemonize no',
              `dir ${dir}`,
              `logfile ${logfile}`,
              'sentinel announce-ip 127.0.0.1',
              `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} ${quorum}`,
              `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
              `sentinel failover-timeout ${masterName} 5000`,
              `sentinel parallel-syncs ${masterName} 1`,
              '',
            ].join('\n'),
          );
          return [conf, '--sentinel'];
        },
      }).start(),
    ),
  );
  const set = new ReplicaSet(masterName, [primary, ...replicaNodes], sentinelNodes);
  track(set);
  // Sentinels discover replicas through INFO (every 10 s at first, sooner after hello messages)
  // and each other through hello messages (every 2 s): wait for both, so failover() works.
  await waitFor(
    'sentinels to discover replicas and each other',
    async () => {
      for (const s of sentinelNodes) {
        const known = await withAdmin(s.port, async (c) => ({
          replicas: ((await c.call('SENTINEL', 'REPLICAS', masterName)) as unknown[]).length,
          peers: ((await c.call('SENTINEL', 'SENTINELS', masterName)) as unknown[]).length,
        }));
        if (known.replicas < replicas || known.peers < sentinels - 1) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return set;
}
