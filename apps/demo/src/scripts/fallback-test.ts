// `pnpm redis:fallback-test`: a live failover, end to end. Starts a throwaway redis-server with
// the test kit (never touches an existing Redis), drives traffic through @x/hybrid-client, kills
// Redis, restarts it, and prints what happened. Exit code 0 when every call succeeded, the
// client failed over and came back; 1 otherwise.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHybridClient, type HybridClient } from '@x/hybrid-client';
import { startRedis, stopAll } from '@x/testkit';

const PROBE_MS = 200;
const TIMEOUT_MS = 100;
const TICK_MS = 10;

interface Phase {
  name: string;
  ops: number;
  errors: number;
  /** Reads that found nothing: expected around the recovery (Redis restarted empty). */
  misses: number;
  primary: number;
  fallback: number;
  latencies: number[];
}

const t0 = performance.now();
const at = (): string => `${((performance.now() - t0) / 1000).toFixed(3).padStart(7)} s`;
const say = (line: string): void => console.log(`${at()}  ${line}`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Sends set + get pairs until `until()` says stop, counting where each was served. */
async function drive(
  client: HybridClient,
  phase: Phase,
  until: () => boolean,
  maxMs: number,
): Promise<void> {
  const end = performance.now() + maxMs;
  let i = 0;
  while (!until() && performance.now() < end) {
    const key = `fallback-test:${i++ % 50}`;
    const started = performance.now();
    try {
      await client.set(key, String(i), { ttl: 60_000 });
      const value = await client.get(key);
      // A miss is not a failure for a cache: right after the recovery the value written to
      // memory during the outage is not in the restarted (empty) Redis.
      if (value === null) phase.misses += 1;
      phase.ops += 2;
      if (client.activeBackend === 'primary') phase.primary += 2;
      else phase.fallback += 2;
    } catch (error) {
      phase.errors += 1;
      say(`  call failed: ${(error as Error).message}`);
    }
    phase.latencies.push(performance.now() - started);
    await sleep(TICK_MS);
  }
}

function newPhase(name: string): Phase {
  return { name, ops: 0, errors: 0, misses: 0, primary: 0, fallback: 0, latencies: [] };
}

async function main(): Promise<number> {
  say('starting a throwaway redis-server (test kit)');
  const redis = await startRedis();
  say(`Redis at ${redis.url} (pid ${redis.pid})`);

  const client = await createHybridClient({
    redis: redis.url,
    probeIntervalMs: PROBE_MS,
    timeoutMs: TIMEOUT_MS,
    onRecovery: 'invalidate',
    logger: (msg, fields) =>
      say(`  log ${fields.level}: ${msg} ${JSON.stringify({ reason: fields.reason })}`),
  });
  let failedOverAt: number | undefined;
  let recoveredAt: number | undefined;
  client.on('failover', (e) => {
    failedOverAt = performance.now();
    say(`EVENT failover (${e.cause}) -> serving from memory`);
  });
  client.on('recover', (e) => {
    recoveredAt = performance.now();
    say(
      `EVENT recover after ${Math.round(e.outageMs)} ms (policy ${e.policy}, ${e.reconciledKeys} keys reconciled) -> back on Redis`,
    );
  });
  say(`hybrid client ready, active backend: ${client.activeBackend}`);

  const phases: Phase[] = [];
  try {
    const healthy = newPhase('Redis up');
    phases.push(healthy);
    await drive(client, healthy, () => false, 1_000);

    const outage = newPhase('Redis killed');
    phases.push(outage);
    say('killing Redis (SIGKILL)');
    const killedAt = performance.now();
    await redis.kill();
    await drive(client, outage, () => false, 1_500);
    const failoverMs = failedOverAt === undefined ? undefined : failedOverAt - killedAt;

    const recovery = newPhase('Redis restarted');
    phases.push(recovery);
    say('restarting Redis (same port, empty)');
    const restartedAt = performance.now();
    await redis.restart();
    await drive(client, recovery, () => recoveredAt !== undefined, 10_000);
    const recoverMs = recoveredAt === undefined ? undefined : recoveredAt - restartedAt;
    const after = newPhase('after recovery');
    phases.push(after);
    await drive(client, after, () => false, 500);

    console.log('');
    console.log('phase              calls  errors  misses  on Redis  in memory   p50 ms   max ms');
    for (const p of phases) {
      const sorted = [...p.latencies].sort((a, b) => a - b);
      console.log(
        `${p.name.padEnd(17)} ${String(p.ops).padStart(6)} ${String(p.errors).padStart(7)} ${String(p.misses).padStart(7)} ${String(p.primary).padStart(9)} ${String(p.fallback).padStart(10)} ${percentile(sorted, 50).toFixed(2).padStart(8)} ${percentile(sorted, 100).toFixed(2).padStart(8)}`,
      );
    }
    const stats = client.stats();
    console.log('');
    console.log(
      `failover: ${failoverMs === undefined ? 'NOT SEEN' : `${Math.round(failoverMs)} ms after the kill`}; ` +
        `recovery: ${recoverMs === undefined ? 'NOT SEEN' : `${Math.round(recoverMs)} ms after the restart`}; ` +
        `failovers ${stats.failovers}, recoveries ${stats.recoveries}, active backend now: ${client.activeBackend}`,
    );
    const errors = phases.reduce((n, p) => n + p.errors, 0);
    const ok =
      errors === 0 &&
      failoverMs !== undefined &&
      recoverMs !== undefined &&
      client.activeBackend === 'primary';
    console.log(
      ok
        ? 'RESULT: PASS (no failed call; failed over to memory and recovered to Redis without a restart)'
        : `RESULT: FAIL (${errors} failed calls)`,
    );
    return ok ? 0 : 1;
  } finally {
    await client.close();
    await stopAll();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    console.error(error);
    await stopAll();
    process.exitCode = 1;
  },
);
