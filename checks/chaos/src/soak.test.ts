import { describe, expect, it } from 'vitest';
import { evaluate, heapTrend, SOAK_HEAP_TREND } from './invariants';
import type { WorkerSummary } from './protocol';
import { SOAK_CYCLE_MS, soakScenario } from './scenarios';

// Pure logic of the soak: its schedule and how its figures are judged. The soak itself is real
// (`pnpm chaos -- --soak`); it takes minutes, so it stays out of the test run.

function summary(over: Partial<WorkerSummary> = {}): WorkerSummary {
  return {
    id: 0,
    cache: {
      ops: 10,
      failures: 0,
      maxLatencyMs: 1,
      overDeadline: 0,
      redisOps: 10,
      fallbackOps: 0,
      errors: [],
    },
    failovers: [],
    recoveries: [],
    lock: { held: 0, unavailable: 0, contended: 0, lost: 0, errors: [] },
    rate: { windows: [], localLimit: 20, errors: [] },
    session: { ok: 1, unavailable: 0, wrongData: 0, errors: [], intact: 5, checked: 5 },
    heap: { before: 10, after: 10, samples: [] },
    unhandled: [],
    ...over,
  };
}

const flat = (ms: number): [number, number][] =>
  Array.from({ length: ms / 1000 }, (_, i) => [i * 1000, 20e6 + (i % 7) * 1e6]);

describe('soakScenario', () => {
  it('repeats every standalone fault each cycle and ends healed', () => {
    const soak = soakScenario(10 * 60_000);
    expect(soak.durationMs).toBe(10 * 60_000);
    expect(soak.name).toBe('soak-10min');
    expect(soak.soak).toBe(true);
    const cycles = soak.durationMs / SOAK_CYCLE_MS;
    const labels = soak.steps.map((s) => s.label);
    for (const label of [
      'SIGKILL',
      'SIGSTOP',
      'proxy blackhole',
      'proxy +400 ms',
      'SCRIPT FLUSH',
    ]) {
      expect(labels.filter((l) => l === label)).toHaveLength(cycles);
    }
    // Sorted in time, inside the run, and every fault healed before the next one starts.
    const times = soak.steps.map((s) => s.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1)).toBeLessThan(soak.durationMs);
    let open = false;
    for (const step of soak.steps) {
      if (step.kind === 'fault') {
        expect(open).toBe(false);
        open = true;
      }
      if (step.kind === 'heal') {
        expect(open).toBe(true);
        open = false;
      }
    }
    expect(open).toBe(false);
  });

  it('runs at least one cycle', () => {
    const soak = soakScenario(1_000);
    expect(soak.durationMs).toBe(SOAK_CYCLE_MS);
    expect(soak.steps.filter((s) => s.kind === 'fault')).toHaveLength(4);
  });
});

describe('heapTrend', () => {
  it('is about 1 for a heap that saws around a flat floor', () => {
    const t = heapTrend(flat(600_000), 600_000)!;
    expect(t).toBeGreaterThan(0.95);
    expect(t).toBeLessThan(1.05);
  });

  it('exceeds the bound for a heap whose floor keeps rising', () => {
    const leaking = flat(600_000).map(([t, h]): [number, number] => [t, h + t * 100]);
    expect(heapTrend(leaking, 600_000)!).toBeGreaterThan(SOAK_HEAP_TREND);
  });

  it('gives no figure without enough samples', () => {
    expect(heapTrend(flat(4_000), 600_000)).toBeUndefined();
  });
});

describe('evaluate (soak)', () => {
  const scenario = soakScenario(2 * SOAK_CYCLE_MS);
  const base = { intervals: [], crashes: [], operationTimeoutMs: 250, workers: 1 };
  // Two cycles: four fault/heal pairs each.
  const faultTimes = [1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000].map((t) => t * 10);
  const healTimes = faultTimes.map((t) => t + 2_500);

  it('measures every fault/heal pair and reports the worst', () => {
    const worker = summary({
      failovers: faultTimes.map((t, k) => t + 10 + k),
      recoveries: healTimes.map((t, k) => t + 100 * (k + 1)),
      heap: { before: 10, after: 12, samples: flat(scenario.durationMs) },
    });
    const { figures, violations } = evaluate({
      ...base,
      scenario,
      summaries: [worker],
      faultTimes,
      healTimes,
    });
    expect(violations).toEqual([]);
    expect(figures.outages).toBe(8);
    expect(figures.failoverMs).toBe(17);
    expect(figures.recoveryMs).toBe(800);
    expect(figures.heapTrend).toBeLessThan(1.05);
  });

  it('names the heal a worker never recovered from, and a creeping heap', () => {
    const worker = summary({
      failovers: faultTimes.map((t) => t + 10),
      recoveries: healTimes.filter((_, k) => k !== 5).map((t) => t + 100),
      heap: {
        before: 10,
        after: 12,
        samples: flat(scenario.durationMs).map(([t, h]): [number, number] => [
          t,
          h * (1 + t / 10_000),
        ]),
      },
    });
    const { violations } = evaluate({
      ...base,
      scenario,
      summaries: [worker],
      faultTimes,
      healTimes,
    });
    expect(violations).toContain('worker 0 never recovered after heal 6');
    expect(violations.some((v) => v.startsWith('heap floor rose'))).toBe(true);
  });
});
