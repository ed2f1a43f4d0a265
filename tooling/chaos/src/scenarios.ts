import {
  type ClusterHandle,
  type FaultProxy,
  type RedisHandle,
  type ReplicaSetHandle,
  withAdmin,
} from '@x/testkit';

/** The Redis deployment a scenario runs against. */
export type Topology = 'standalone' | 'sentinel' | 'cluster';

/** What a fault step can touch. */
export interface FaultTargets {
  redis?: RedisHandle;
  proxy?: FaultProxy;
  replicaSet?: ReplicaSetHandle;
  cluster?: ClusterHandle;
}

/** One step of a fault schedule. `heal` marks the moment Redis is usable again. */
export interface FaultStep {
  atMs: number;
  label: string;
  kind: 'fault' | 'heal' | 'event';
  run(targets: FaultTargets): Promise<void>;
}

/** A bounded chaos scenario. */
export interface Scenario {
  name: string;
  topology: Topology;
  durationMs: number;
  steps: FaultStep[];
  /** Whether the fault takes Redis away from the workers (failover/recovery times are measured). */
  outage: boolean;
}

const must = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`scenario needs ${what}`);
  return value;
};

/** Every scenario, in the order `pnpm chaos` runs them. */
export const scenarios: Scenario[] = [
  {
    name: 'kill-restart',
    topology: 'standalone',
    durationMs: 8_000,
    outage: true,
    steps: [
      { atMs: 2_000, label: 'SIGKILL', kind: 'fault', run: (t) => must(t.redis, 'redis').kill() },
      { atMs: 4_500, label: 'restart', kind: 'heal', run: (t) => must(t.redis, 'redis').restart() },
    ],
  },
  {
    name: 'freeze-resume',
    topology: 'standalone',
    durationMs: 8_000,
    outage: true,
    steps: [
      { atMs: 2_000, label: 'SIGSTOP', kind: 'fault', run: (t) => must(t.redis, 'redis').freeze() },
      { atMs: 4_500, label: 'SIGCONT', kind: 'heal', run: (t) => must(t.redis, 'redis').resume() },
    ],
  },
  {
    name: 'blackhole',
    topology: 'standalone',
    durationMs: 8_000,
    outage: true,
    steps: [
      {
        atMs: 2_000,
        label: 'proxy blackhole',
        kind: 'fault',
        run: async (t) => must(t.proxy, 'proxy').blackhole(),
      },
      {
        atMs: 4_500,
        label: 'proxy pass',
        kind: 'heal',
        run: async (t) => must(t.proxy, 'proxy').pass(),
      },
    ],
  },
  {
    name: 'latency',
    topology: 'standalone',
    durationMs: 8_000,
    outage: true,
    steps: [
      {
        atMs: 2_000,
        label: 'proxy +400 ms',
        kind: 'fault',
        run: async (t) => must(t.proxy, 'proxy').latency(400),
      },
      {
        atMs: 4_500,
        label: 'proxy pass',
        kind: 'heal',
        run: async (t) => must(t.proxy, 'proxy').pass(),
      },
    ],
  },
  {
    name: 'script-flush',
    topology: 'standalone',
    durationMs: 5_000,
    outage: false,
    steps: [1_500, 2_500, 3_500].map((atMs) => ({
      atMs,
      label: 'SCRIPT FLUSH',
      kind: 'event' as const,
      run: (t: FaultTargets) =>
        withAdmin(must(t.redis, 'redis').port, (c) => c.script('FLUSH')).then(() => {}),
    })),
  },
  {
    name: 'client-kill',
    topology: 'standalone',
    durationMs: 5_000,
    outage: false,
    steps: [1_500, 3_000].map((atMs) => ({
      atMs,
      label: 'CLIENT KILL TYPE normal',
      kind: 'event' as const,
      run: (t: FaultTargets) =>
        withAdmin(must(t.redis, 'redis').port, (c) =>
          c.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'),
        ).then(() => {}),
    })),
  },
  {
    name: 'sentinel-failover',
    topology: 'sentinel',
    durationMs: 10_000,
    outage: false,
    steps: [
      {
        atMs: 2_000,
        label: 'SENTINEL FAILOVER',
        kind: 'event',
        run: (t) =>
          must(t.replicaSet, 'replica set')
            .failover()
            .then(() => {}),
      },
    ],
  },
  {
    name: 'cluster-failover',
    topology: 'cluster',
    durationMs: 10_000,
    outage: false,
    steps: [
      {
        atMs: 2_000,
        label: 'CLUSTER FAILOVER (master 0)',
        kind: 'event',
        run: (t) =>
          must(t.cluster, 'cluster')
            .failover(0)
            .then(() => {}),
      },
    ],
  },
];

/** The scenario CI runs on every submission: a kill and a restart under load. */
export const shortScenarios = ['kill-restart', 'freeze-resume'];
