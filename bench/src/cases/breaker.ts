import { createBreaker, createGuard } from '@x/breaker';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import CircuitBreaker from 'opossum';
import type { BenchCase, BenchContext, CaseResult } from '../_internal/context';
import { compareLoops } from '../_internal/micro';
import type { Row } from '../_internal/report';
import { median } from '../_internal/stats';

const CASE = '3 breaker overhead';
const BAR_NS = 150;

const noop = async (): Promise<void> => {};

/**
 * Case 3: what a circuit breaker adds to a call that does nothing. Each subject runs
 * `await subject(noop)` N times in a tight loop; the same loop with `await noop()` is the
 * baseline, measured in every round, and "per op" is the overhead: the difference per call.
 */
export const breakerCase: BenchCase = {
  async run(ctx: BenchContext): Promise<CaseResult> {
    const breaker = createBreaker();
    const guard = createGuard({ timeoutMs: 1_000 });
    const cockatiel = circuitBreaker(handleAll, {
      halfOpenAfter: 30_000,
      breaker: new ConsecutiveBreaker(5),
    });
    const opossum = new CircuitBreaker(noop);
    // The path every call takes during an outage: the circuit is open, the fallback answers.
    const openGuard = createGuard({ timeoutMs: 1_000 });
    const isolation = openGuard.breaker!.isolate();
    const fallback = (): undefined => undefined;

    const subjects: Array<{ name: string; body: (n: number) => Promise<void>; ours: boolean }> = [
      {
        name: '@x/breaker execute',
        ours: true,
        body: async (k) => {
          for (let i = 0; i < k; i++) await breaker.execute(noop);
        },
      },
      {
        name: '@x/breaker guard.execute',
        ours: true,
        body: async (k) => {
          for (let i = 0; i < k; i++) await guard.execute(noop);
        },
      },
      {
        name: '@x/breaker guard.execute, open circuit → fallback (info)',
        ours: false,
        body: async (k) => {
          for (let i = 0; i < k; i++) await openGuard.execute(noop, fallback);
        },
      },
      {
        name: 'cockatiel circuitBreaker',
        ours: false,
        body: async (k) => {
          for (let i = 0; i < k; i++) await cockatiel.execute(noop);
        },
      },
      {
        name: 'opossum fire',
        ours: false,
        body: async (k) => {
          for (let i = 0; i < k; i++) await opossum.fire();
        },
      },
    ];
    const baseline = async (k: number): Promise<void> => {
      for (let i = 0; i < k; i++) await noop();
    };

    const { base, totals } = await compareLoops(
      baseline,
      subjects.map((s) => s.body),
      // Micro loops are cheap: more rounds make the median robust to a busy machine.
      { rounds: ctx.rounds + 1, targetMs: ctx.quick ? 20 : 60 },
    );
    opossum.shutdown();
    isolation.dispose();

    const baseNs = median(base);
    const overhead = totals.map((t) => median(t.map((v, r) => v - base[r]!)));
    const best = totals.map((t) => Math.min(...t.map((v, r) => v - base[r]!)));
    const total = totals.map((t) => median(t));
    const cockatielIndex = subjects.findIndex((s) => s.name.startsWith('cockatiel'));
    const rows: Row[] = [
      {
        case: CASE,
        subject: 'baseline: await noop()',
        opsPerSec: 1e9 / baseNs,
        nsPerOp: baseNs,
        note: `full cost of the bare call; best round ${Math.round(Math.min(...base))} ns`,
      },
    ];
    subjects.forEach((s, i) => {
      const ratio = total[cockatielIndex]! / total[i]!;
      rows.push({
        case: CASE,
        subject: s.name,
        opsPerSec: 1e9 / total[i]!,
        nsPerOp: overhead[i]!,
        ratio: s.ours ? ratio : undefined,
        bar: s.ours ? `overhead ≤ ${BAR_NS} ns` : undefined,
        met: s.ours ? overhead[i]! <= BAR_NS : undefined,
        note: `${s.ours ? 'ratio vs cockatiel; ' : ''}best round ${Math.round(best[i]!)} ns`,
      });
    });
    return { rows };
  },
};
