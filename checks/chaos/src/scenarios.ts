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
  /**
   * A long run: besides the heap bound, the heap floor must not keep rising (see
   * `SOAK_HEAP_TREND` in invariants.ts), and every fault/heal pair is measured, not only the first.
   */
  soak?: boolean;
  /**
   * Rotating credentials: the workers authenticate as an ACL user with a credentials provider
   * reading the current password from a file; the controller rotates the password every
   * `rotateEveryMs` (new one added, handed out, the one before the previous removed) and kills the
   * user's connections (`CLIENT KILL USER`) every `killEveryMs`, for the whole run. The default
   * user keeps no key and no channel, so a connection that skipped the provider fails.
   */
  rotation?: { rotateEveryMs: number; killEveryMs: number };
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
    name: 'credential-rotation',
    topology: 'standalone',
    durationMs: 8_000,
    outage: false,
    rotation: { rotateEveryMs: 200, killEveryMs: 300 },
    steps: [],
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

/** One soak cycle: every standalone fault once, then quiet time. */
export const SOAK_CYCLE_MS = 30_000;

const adminCommand =
  (...args: string[]) =>
  (t: FaultTargets) =>
    withAdmin(must(t.redis, 'redis').port, (c) => c.call(args[0]!, ...args.slice(1))).then(
      () => {},
    );

/** The faults of one soak cycle, at offsets from the cycle start (pairs: fault, then its heal). */
const soakSteps: (Omit<FaultStep, 'atMs'> & { offset: number })[] = [
  { offset: 3_000, label: 'SIGKILL', kind: 'fault', run: (t) => must(t.redis, 'redis').kill() },
  { offset: 5_500, label: 'restart', kind: 'heal', run: (t) => must(t.redis, 'redis').restart() },
  { offset: 9_000, label: 'SIGSTOP', kind: 'fault', run: (t) => must(t.redis, 'redis').freeze() },
  { offset: 11_500, label: 'SIGCONT', kind: 'heal', run: (t) => must(t.redis, 'redis').resume() },
  {
    offset: 15_000,
    label: 'proxy blackhole',
    kind: 'fault',
    run: async (t) => must(t.proxy, 'proxy').blackhole(),
  },
  {
    offset: 17_500,
    label: 'proxy pass',
    kind: 'heal',
    run: async (t) => must(t.proxy, 'proxy').pass(),
  },
  {
    offset: 21_000,
    label: 'proxy +400 ms',
    kind: 'fault',
    run: async (t) => must(t.proxy, 'proxy').latency(400),
  },
  {
    offset: 23_500,
    label: 'proxy pass',
    kind: 'heal',
    run: async (t) => must(t.proxy, 'proxy').pass(),
  },
  { offset: 26_000, label: 'SCRIPT FLUSH', kind: 'event', run: adminCommand('SCRIPT', 'FLUSH') },
  {
    offset: 27_500,
    label: 'CLIENT KILL TYPE normal',
    kind: 'event',
    run: adminCommand('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'),
  },
];

/**
 * A soak: `durationMs` of load (at least one cycle) with the standalone faults repeated every
 * {@link SOAK_CYCLE_MS}: SIGKILL + restart, SIGSTOP + SIGCONT, blackhole, +400 ms latency,
 * `SCRIPT FLUSH` and `CLIENT KILL`. Every cycle ends healed, with a quiet stretch before the next.
 */
export function soakScenario(durationMs: number): Scenario {
  const cycles = Math.max(1, Math.floor(durationMs / SOAK_CYCLE_MS));
  const steps: FaultStep[] = [];
  for (let c = 0; c < cycles; c++) {
    for (const { offset, ...step } of soakSteps) {
      steps.push({ ...step, atMs: c * SOAK_CYCLE_MS + offset });
    }
  }
  return {
    name: `soak-${Number(((cycles * SOAK_CYCLE_MS) / 60_000).toFixed(1))}min`,
    topology: 'standalone',
    durationMs: cycles * SOAK_CYCLE_MS,
    outage: true,
    soak: true,
    steps,
  };
}
