import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, startFaultProxy, startRedis, startReplicaSet } from '@x/testkit';
import { startWriter, type WriteLog } from './coherence';
import {
  type CredentialRotation,
  createAclUser,
  denyDefaultUserData,
  type RotationFigures,
  startCredentialRotation,
} from './credential-rotator';
import { evaluate, type Figures } from './invariants';
import type { LockInterval, WorkerConfig, WorkerMessage, WorkerSummary } from './protocol';
import type { FaultTargets, Scenario } from './scenarios';

/** Options for one scenario run. */
export interface RunOptions {
  /** Worker processes. @default 3 */
  workers?: number;
  /** Concurrent cache loops per worker. @default 8 */
  cacheLoops?: number;
  /** Hybrid client deadline. @default 250 */
  operationTimeoutMs?: number;
}

/** The outcome of one scenario. */
export interface ScenarioResult {
  scenario: string;
  figures: Figures;
  violations: string[];
  timeline: string[];
}

/** A fault step is not started later than this before the workers stop. */
const FAULT_END_MARGIN_MS = 5_000;

const workerFile = fileURLToPath(new URL('./worker.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Starts the topology, and what the workers should use to reach it (as @x/config env vars). */
async function topology(
  scenario: Scenario,
): Promise<{ targets: FaultTargets; env: Record<string, string> }> {
  if (scenario.topology === 'sentinel') {
    const replicaSet = await startReplicaSet({ replicas: 1, sentinels: 3 });
    return {
      targets: { replicaSet },
      env: {
        REDIS_SENTINELS: replicaSet.sentinelAddresses.map((a) => `${a.host}:${a.port}`).join(','),
        REDIS_SENTINEL_NAME: replicaSet.masterName,
      },
    };
  }
  if (scenario.topology === 'cluster') {
    const cluster = await startCluster({ masters: 3, replicasPerMaster: 1 });
    return {
      targets: { cluster },
      env: {
        REDIS_CLUSTER_MODE: 'true',
        REDIS_CLUSTER_NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','),
      },
    };
  }
  // Persistence on (fsync always), so a SIGKILL + restart keeps locks' fencing counters and
  // sessions: the invariants are about the packages, not about an empty restart.
  const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  const proxy = await startFaultProxy({ target: redis });
  return { targets: { redis, proxy }, env: { REDIS_URL: proxy.url } };
}

/** The rotating credentials of a scenario: the ACL user, and the file its password is read from. */
interface Rotation {
  username: string;
  file: string;
  /** Starts rotating and killing (the scenario's `rotation` periods) until `stop()`. */
  start(): Promise<CredentialRotation>;
  /** Removes the password file. */
  cleanup(): void;
}

/**
 * Sets up rotating credentials on `port`: the ACL user with a first password, written to a file
 * in a fresh temporary directory; the default user loses every key and channel.
 */
async function setUpRotation(
  port: number,
  periods: NonNullable<Scenario['rotation']>,
): Promise<Rotation> {
  const dir = mkdtempSync(join(tmpdir(), 'x-chaos-rotation-'));
  const file = join(dir, 'redis-password');
  const username = 'chaos';
  // Written whole, then renamed: a reader never sees a half-written password.
  const publish = (password: string): void => {
    writeFileSync(`${file}.next`, password, { mode: 0o600 });
    renameSync(`${file}.next`, file);
  };
  const initial = 'pw-initial';
  await createAclUser([port], username, initial);
  await denyDefaultUserData([port]);
  publish(initial);
  return {
    username,
    file,
    start: () =>
      startCredentialRotation({
        username,
        password: initial,
        nodes: () => [port],
        rotateEveryMs: periods.rotateEveryMs,
        killEveryMs: periods.killEveryMs,
        publish,
      }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function spawnWorker(config: WorkerConfig): ChildProcess {
  return fork(workerFile, [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx', '--conditions=@x/source', '--expose-gc'],
    env: { ...process.env, CHAOS_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** Runs one scenario end to end and evaluates every invariant. Stops everything it started. */
export async function runScenario(
  scenario: Scenario,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const { workers = 3, cacheLoops = 8, operationTimeoutMs = 250 } = options;
  const { targets, env } = await topology(scenario);
  let rotation: Rotation | undefined;
  let rotationFigures: RotationFigures | undefined;
  const timeline: string[] = [];
  const intervals: LockInterval[] = [];
  const summaries: WorkerSummary[] = [];
  const crashes: string[] = [];
  const children: ChildProcess[] = [];
  try {
    if (scenario.rotation && targets.redis) {
      rotation = await setUpRotation(targets.redis.port, scenario.rotation);
    }
    // The shared keys' writer: another process than the workers, writing straight to Redis (past
    // the fault proxy), so its writes go on while the workers' links are faulted.
    let writerEnv = targets.redis ? { REDIS_URL: targets.redis.url } : env;
    if (rotation && targets.redis) {
      await createAclUser([targets.redis.port], 'coherence', 'coherence-pw');
      writerEnv = { REDIS_URL: `redis://coherence:coherence-pw@127.0.0.1:${targets.redis.port}` };
    }
    let writeLog: WriteLog | undefined;
    const ready: Promise<void>[] = [];
    const done: Promise<void>[] = [];
    for (let id = 0; id < workers; id++) {
      const child = spawnWorker({
        id,
        redisEnv: env,
        durationMs: scenario.durationMs,
        cacheLoops,
        operationTimeoutMs,
        lock: { key: 'chaos:job', ttlMs: 1_000, holdMs: 15 },
        rateLimit: { key: 'chaos:rl', limit: 60, windowMs: 1_000, instances: workers },
        ...(rotation ? { credentials: { file: rotation.file, username: rotation.username } } : {}),
      });
      children.push(child);
      ready.push(
        new Promise((resolve, reject) => {
          child.on('message', (m: WorkerMessage) => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'lock') intervals.push(m.interval);
            else if (m.type === 'summary') summaries.push(m.summary);
          });
          child.once('exit', (code) => reject(new Error(`worker ${id} exited early (${code})`)));
        }),
      );
      done.push(
        new Promise((resolve) => {
          child.once('exit', (code, signal) => {
            if (code !== 0) crashes.push(`worker ${id} exited with ${code ?? signal}`);
            resolve();
          });
        }),
      );
    }
    await Promise.all(ready);
    const writer = startWriter(writerEnv);
    const start = Date.now();
    for (const child of children) child.send({ type: 'go' });
    const writing = new Promise<void>((resolve) =>
      setTimeout(async () => {
        writeLog = await writer.stop();
        resolve();
      }, scenario.durationMs),
    );
    // Rotating credentials run for the whole load, then stop (the workers' final checks and
    // close() run on the last password).
    const rotating = rotation?.start().then(async (running) => {
      timeline.push(
        `rotating every ${scenario.rotation?.rotateEveryMs} ms, CLIENT KILL USER every ${scenario.rotation?.killEveryMs} ms`,
      );
      await new Promise((r) =>
        setTimeout(r, Math.max(0, start + scenario.durationMs - Date.now())),
      );
      rotationFigures = await running.stop();
      timeline.push(
        `${((Date.now() - start) / 1000).toFixed(2)} s ${rotationFigures.rotations} rotations, ${rotationFigures.killRounds} kill rounds (${rotationFigures.killed} connections)`,
      );
    });
    const faultTimes: number[] = [];
    const healTimes: number[] = [];
    // A step that takes long (a restart replaying a big AOF) delays the ones after it, keeping
    // the planned spacing: the quiet time after a heal is what lets the workers recover before
    // the next fault. A fault that would then start too close to the end is skipped with its heal.
    let prevAtMs = 0;
    let prevDone = start;
    let skipHeal = false;
    for (const step of scenario.steps) {
      const due = Math.max(start + step.atMs, prevDone + (step.atMs - prevAtMs));
      const late = due > start + scenario.durationMs - FAULT_END_MARGIN_MS;
      if ((step.kind === 'fault' && late) || (step.kind === 'heal' && skipHeal)) {
        skipHeal = step.kind === 'fault';
        timeline.push(`skipped ${step.label} (too close to the end after late steps)`);
        continue;
      }
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await step.run(targets);
      const at = Date.now();
      if (step.kind === 'fault') faultTimes.push(at);
      if (step.kind === 'heal') healTimes.push(at);
      timeline.push(`${((at - start) / 1000).toFixed(2)} s ${step.label}`);
      prevAtMs = step.atMs;
      prevDone = at;
    }
    await rotating;
    await writing;
    const exited = await Promise.race([
      Promise.all(done).then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), scenario.durationMs + 30_000)),
    ]);
    if (!exited) {
      crashes.push(
        summaries.length === workers
          ? 'a worker did not exit after closing every client (a timer or socket was left open)'
          : 'workers did not finish within 30 s after the scenario ended',
      );
    }
    const { figures, violations } = evaluate({
      scenario,
      summaries,
      intervals,
      crashes,
      faultTimes,
      healTimes,
      operationTimeoutMs,
      workers,
      ...(rotationFigures ? { rotation: rotationFigures } : {}),
      writeLog: writeLog ?? [],
    });
    return { scenario: scenario.name, figures, violations, timeline };
  } finally {
    rotation?.cleanup();
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.allSettled(
      Object.values(targets).map((t) => (t as { stop?: () => Promise<void> }).stop?.()),
    );
  }
}
