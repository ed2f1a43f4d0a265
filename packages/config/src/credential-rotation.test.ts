import {
  type ClusterHandle,
  type RedisHandle,
  type ReplicaSetHandle,
  startCluster,
  startRedis,
  startReplicaSet,
  withAdmin,
} from '@x/testkit';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisClient, type RedisClient } from './client.js';
import type { RedisConfigInput } from './config.js';
import { trackCredentials } from './credentials-tracker.js';
import { isCredentialsError, isRedisNotConnectedError } from './errors.js';
import { waitForReady } from './wait-for-ready.js';

// Issue 14, item 5 at the client level: an ACL user whose password is rotated (add the new one,
// remove the one before the previous) every 200 ms while 50 workers drive plain commands through
// clients from createRedisClient (and their duplicates), with the server killing connections
// (CLIENT KILL) in between so that reconnects happen. Every reconnect must authenticate with
// the current password, every re-authentication must be accepted, and no call may fail.
//
// A call that met a killed connection is sent again (the workers' commands are idempotent SETs
// and GETs): a killed connection is the fault injected here, and an application retries such a
// call. What must never happen is a failure because of credentials, or a call that still fails
// after the client reconnected.

const WORKERS = 50;
const ROTATE_EVERY_MS = 200;
const KILL_EVERY_MS = 300;
const RUN_MS = 5_000;
const USER = 'app';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Nodes {
  /** Ports whose ACL holds the user (every data node). */
  all(): number[];
  /** Ports where connections of the clients live (killed at random). */
  targets(): number[];
}

interface Outcome {
  calls: number;
  failedCalls: number;
  retried: number;
  authErrors: string[];
  otherErrors: Map<string, number>;
  rotations: number;
  kills: number;
  providerCalls: number;
  refreshes: number;
  refreshFailures: string[];
}

function isAuthProblem(error: unknown): boolean {
  let e: unknown = error;
  for (let i = 0; i < 4 && typeof e === 'object' && e !== null; i++) {
    if (isCredentialsError(e)) return true;
    const message = (e as Error).message ?? '';
    if (/^(WRONGPASS|NOAUTH|NOPERM)|ERR AUTH/.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

async function rotationUnderLoad(
  nodes: Nodes,
  input: (credentials: RedisConfigInput['credentials']) => RedisConfigInput,
): Promise<Outcome> {
  let generation = 0;
  let current = `pw-${generation}`;
  const setUser = (...rules: string[]): Promise<unknown[]> =>
    Promise.all(
      nodes.all().map((port) => withAdmin(port, (c) => c.call('ACL', 'SETUSER', USER, ...rules))),
    );
  await setUser('on', `>${current}`, '~*', '&*', '+@all');

  const outcome: Outcome = {
    calls: 0,
    failedCalls: 0,
    retried: 0,
    authErrors: [],
    otherErrors: new Map(),
    rotations: 0,
    kills: 0,
    providerCalls: 0,
    refreshes: 0,
    refreshFailures: [],
  };
  const credentials = (): { username: string; password: string } => {
    outcome.providerCalls += 1;
    return { username: USER, password: current };
  };
  const main = createRedisClient({
    ...input(credentials),
    commandTimeoutMs: 1_000,
    credentialsRefreshMs: 150,
  });
  const clients: RedisClient[] = [main];
  const onError = (error: Error): void => {
    if (isAuthProblem(error)) outcome.authErrors.push(error.message);
  };
  main.on('error', onError);
  await waitForReady(main, { timeoutMs: 10_000 });
  if (!(main as { isCluster?: boolean }).isCluster) {
    // Duplicates (as the runtime makes for subscribers) authenticate through the same provider.
    for (let i = 0; i < 3; i++) {
      const copy = (main as Redis).duplicate();
      copy.on('error', onError);
      trackCredentials(copy);
      clients.push(copy);
      await waitForReady(copy, { timeoutMs: 5_000 });
    }
  }
  for (const client of clients) {
    const tracker = trackCredentials(client);
    tracker.on('refresh', () => {
      outcome.refreshes += 1;
    });
    tracker.on('refresh-failed', ({ error }) => {
      outcome.refreshFailures.push(error.message);
    });
  }

  let running = true;
  const rotator = (async () => {
    while (running) {
      await sleep(ROTATE_EVERY_MS);
      generation += 1;
      const next = `pw-${generation}`;
      await setUser(`>${next}`);
      current = next;
      // Two passwords are valid during the switch: the one before the previous goes.
      if (generation >= 2) await setUser(`<pw-${generation - 2}`);
      outcome.rotations += 1;
    }
  })();
  const killer = (async () => {
    while (running) {
      await sleep(KILL_EVERY_MS);
      const targets = nodes.targets();
      const port = targets[Math.floor(Math.random() * targets.length)]!;
      const killed = await withAdmin(port, async (c) => {
        const list = (await c.call('CLIENT', 'LIST')) as string;
        const ids = [...list.matchAll(/^id=(\d+) .* user=app /gm)].map((m) => m[1]!);
        if (ids.length === 0) return 0;
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        return (await c.call('CLIENT', 'KILL', 'ID', id)) as number;
      }).catch(() => 0);
      outcome.kills += killed;
    }
  })();

  const worker = async (w: number): Promise<void> => {
    const client = clients[w % clients.length]!;
    let n = 0;
    while (running) {
      n += 1;
      const key = `worker:${w}:${n % 10}`;
      const value = `${n}`;
      for (let attempt = 1; ; attempt++) {
        try {
          await client.set(key, value);
          const read = await client.get(key);
          if (read !== value) throw new Error(`read ${read} after writing ${value}`);
          outcome.calls += 2;
          break;
        } catch (error) {
          if (isAuthProblem(error)) outcome.authErrors.push((error as Error).message);
          const name = isRedisNotConnectedError(error)
            ? 'not connected'
            : ((error as Error).message ?? String(error)).slice(0, 40);
          outcome.otherErrors.set(name, (outcome.otherErrors.get(name) ?? 0) + 1);
          if (attempt === 10) {
            outcome.failedCalls += 1;
            break;
          }
          outcome.retried += 1;
          // Always yield to timers: a rejection that settles at once must not spin this loop.
          await sleep(10);
          await waitForReady(client, { timeoutMs: 2_000 }).catch(() => sleep(50));
        }
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  await sleep(RUN_MS);
  running = false;
  await Promise.all([rotator, killer, ...workers]);
  for (const client of clients) client.disconnect();
  return outcome;
}

function expectHeld(outcome: Outcome): void {
  const summary = JSON.stringify({
    ...outcome,
    otherErrors: Object.fromEntries(outcome.otherErrors),
  });
  if (process.env.SHOW_ROTATION_OUTCOME) console.log(summary);
  expect(outcome.authErrors, summary).toEqual([]);
  expect(outcome.refreshFailures.filter(isAuthText), summary).toEqual([]);
  expect(outcome.failedCalls, summary).toBe(0);
  // The harness did rotate (25 rotations are planned; a loaded machine runs fewer, each one
  // waiting for the ACL change on every node).
  expect(outcome.rotations, summary).toBeGreaterThanOrEqual(10);
  expect(outcome.kills, summary).toBeGreaterThanOrEqual(5);
  // Each kill made a reconnect, each reconnect asked the provider.
  expect(outcome.providerCalls, summary).toBeGreaterThan(outcome.kills);
  expect(outcome.refreshes, summary).toBeGreaterThanOrEqual(5);
  expect(outcome.calls, summary).toBeGreaterThan(WORKERS * 10);
}

function isAuthText(message: string): boolean {
  return /WRONGPASS|NOAUTH|E_CREDENTIALS|refused the/.test(message);
}

describe('credential rotation every 200 ms + CLIENT KILL, 50 workers (createRedisClient)', () => {
  let handles: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(handles.map((h) => h.stop()));
    handles = [];
  });

  it('standalone: zero failed calls, zero credential errors', async () => {
    const server: RedisHandle = await startRedis();
    handles.push(server);
    const outcome = await rotationUnderLoad(
      { all: () => [server.port], targets: () => [server.port] },
      (credentials) => ({ url: `redis://127.0.0.1:${server.port}`, credentials }),
    );
    expectHeld(outcome);
  }, 30_000);

  it('Sentinel: zero failed calls, zero credential errors', async () => {
    const rs: ReplicaSetHandle = await startReplicaSet({ replicas: 1, sentinels: 3 });
    handles.push(rs);
    const outcome = await rotationUnderLoad(
      { all: () => rs.nodes.map((n) => n.port), targets: () => [rs.primary.port] },
      (credentials) => ({
        sentinels: rs.sentinelAddresses,
        sentinelName: rs.masterName,
        credentials,
      }),
    );
    expectHeld(outcome);
  }, 40_000);

  it('Cluster: zero failed calls, zero credential errors', async () => {
    const cluster: ClusterHandle = await startCluster({ masters: 3 });
    handles.push(cluster);
    const outcome = await rotationUnderLoad(
      {
        all: () => cluster.nodes.map((n) => n.port),
        targets: () => cluster.nodes.map((n) => n.port),
      },
      (credentials) => ({ clusterMode: true, clusterNodes: cluster.startupNodes, credentials }),
    );
    expectHeld(outcome);
  }, 40_000);
});
