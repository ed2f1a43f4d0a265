import { fileURLToPath } from 'node:url';
import { bundleWorker, startRedis, startWorker } from '@x/testkit';
import { beforeAll, describe, expect, it } from 'vitest';

let worker: string;

beforeAll(async () => {
  worker = await bundleWorker(
    fileURLToPath(new URL('./_fixtures/consume-worker.ts', import.meta.url)),
  );
});

type WorkerResult = Record<string, { admitted: number[]; denied: number; sources: string[] }>;

async function runWorker(args: string[]): Promise<WorkerResult> {
  const run = startWorker(worker, args);
  const code = await run.exited;
  if (code !== 0) throw new Error(`worker exited with ${code}: ${run.stderr()}`);
  return JSON.parse(run.stdout().trim()) as WorkerResult;
}

const PROCESSES = 4;
const CALLERS = 50;
const CALLS = 3;

describe('4 processes x 50 concurrent callers on one key', () => {
  it('never admit more than the limit per window, with any algorithm', async () => {
    const redis = await startRedis();
    const limit = 100;
    const windowMs = 600_000;
    const startAt = Date.now() + 1000;
    const args = [
      redis.url,
      String(limit),
      String(windowMs),
      String(CALLERS),
      String(CALLS),
      String(startAt),
    ];
    const results = await Promise.all(Array.from({ length: PROCESSES }, () => runWorker(args)));
    const elapsed = Date.now() - startAt;
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const) {
      const runs = results.map((r) => r[algorithm]!);
      const admitted = runs.flatMap((r) => r.admitted);
      const denied = runs.reduce((n, r) => n + r.denied, 0);
      expect(admitted.length + denied).toBe(PROCESSES * CALLERS * CALLS);
      expect(runs.every((r) => r.sources.length === 1 && r.sources[0] === 'redis')).toBe(true);
      expect(admitted.length, algorithm).toBeGreaterThanOrEqual(limit);
      if (algorithm === 'fixed-window' || algorithm === 'sliding-window') {
        // Grouped by window (a run may straddle a window boundary).
        const perWindow = new Map<number, number>();
        for (const resetAt of admitted) perWindow.set(resetAt, (perWindow.get(resetAt) ?? 0) + 1);
        for (const count of perWindow.values()) expect(count, algorithm).toBeLessThanOrEqual(limit);
      } else {
        // Buckets refill `limit` per window: at most the burst plus what refilled meanwhile.
        const refilled = Math.ceil((Math.max(elapsed, 0) * limit) / windowMs);
        expect(admitted.length, algorithm).toBeLessThanOrEqual(limit + refilled);
      }
    }
  }, 15_000);
});
