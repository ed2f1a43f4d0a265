import { LatencyRecorder, type LatencySummary } from './stats';

/** One operation of a closed-loop load: `worker` is the worker's index, `i` its iteration. */
export type Operation = (worker: number, i: number) => Promise<unknown>;

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Workers, each running the next call as soon as its previous one settled. */
  concurrency: number;
  /** How long to run, in ms. */
  durationMs: number;
  op: Operation;
  /** Called after each call with the time it settled (performance.now()), e.g. to drive faults. */
  afterEach?: (now: number) => void;
}

/** What one closed-loop run measured. */
export interface LoadResult {
  ops: number;
  errors: number;
  elapsedMs: number;
  opsPerSec: number;
  latency: LatencySummary;
  firstError: unknown;
}

const recorder = new LatencyRecorder();

/**
 * Runs `concurrency` workers in a closed loop for `durationMs` and measures every call.
 * The loop checks the clock after each call, so it ends on time even when calls resolve as
 * microtasks and never let the event loop turn.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { concurrency, durationMs, op, afterEach } = options;
  recorder.reset();
  let errors = 0;
  let firstError: unknown;
  const start = performance.now();
  const end = start + durationMs;
  async function worker(w: number): Promise<void> {
    // One clock read per call: a call starts when the previous one settled (nothing runs between).
    let t0 = performance.now();
    for (let i = 0; ; i++) {
      try {
        await op(w, i);
      } catch (error) {
        errors++;
        firstError ??= error;
      }
      const t1 = performance.now();
      recorder.record(t1 - t0);
      afterEach?.(t1);
      if (t1 >= end) return;
      t0 = t1;
    }
  }
  const workers: Promise<void>[] = [];
  for (let w = 0; w < concurrency; w++) workers.push(worker(w));
  await Promise.all(workers);
  const elapsedMs = performance.now() - start;
  const latency = recorder.summary();
  return {
    ops: latency.count,
    errors,
    elapsedMs,
    opsPerSec: (latency.count / elapsedMs) * 1000,
    latency,
    firstError,
  };
}
