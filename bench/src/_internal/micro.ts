/**
 * A body that runs `n` iterations of one call in a tight loop, e.g.
 * `async (n) => { for (let i = 0; i < n; i++) await breaker.execute(noop); }`.
 * The loop lives in the subject so the harness adds nothing per call.
 */
export type LoopBody = (n: number) => Promise<void> | void;

/** Wall time of one run of `body(n)`, in ns. */
export async function timeLoop(body: LoopBody, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  await body(n);
  return Number(process.hrtime.bigint() - t0);
}

/** Gives pending callbacks (and the collector, with --expose-gc) a turn between measured loops. */
export async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setImmediate(resolve));
}

/** Per-round figures of {@link compareLoops}, in ns per call. */
export interface LoopComparison {
  /** The baseline loop, one figure per round. */
  base: number[];
  /** Each body, one figure per round. */
  totals: number[][];
}

/**
 * Times each body against a baseline, alternating in every round (baseline, body 1, body 2, ...).
 * Each loop is sized to last about `targetMs` (calibrated during the warm-up, which also lets the
 * JIT settle), so a collector pause cannot dominate a fast subject.
 */
export async function compareLoops(
  baseline: LoopBody,
  bodies: readonly LoopBody[],
  { rounds, targetMs }: { rounds: number; targetMs: number },
): Promise<LoopComparison> {
  const all = [baseline, ...bodies];
  const sizes: number[] = [];
  for (const body of all) {
    let nsPerCall = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      await settle();
      nsPerCall = Math.min(nsPerCall, (await timeLoop(body, 20_000)) / 20_000);
    }
    sizes.push(Math.min(50_000_000, Math.max(20_000, Math.round((targetMs * 1e6) / nsPerCall))));
  }
  const perRound: number[][] = all.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < all.length; s++) {
      await settle();
      perRound[s]!.push((await timeLoop(all[s]!, sizes[s]!)) / sizes[s]!);
    }
  }
  return { base: perRound[0]!, totals: perRound.slice(1) };
}
