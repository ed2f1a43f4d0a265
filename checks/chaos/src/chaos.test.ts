import { describe, expect, it } from 'vitest';
import { runScenario } from './controller';
import { scenarios, shortScenarios } from './scenarios';

// The short part of `pnpm chaos` that runs on every CI run: real worker processes under load
// while Redis is SIGKILLed and restarted, then frozen and resumed.
describe('chaos (short)', () => {
  for (const name of shortScenarios) {
    it(`${name}: every invariant holds`, async () => {
      const scenario = scenarios.find((s) => s.name === name)!;
      // Lighter than `pnpm chaos` (3 workers × 4 cache loops) so CI's two cores are not saturated.
      const result = await runScenario(scenario, { workers: 3, cacheLoops: 4 });
      expect(result.violations).toEqual([]);
      expect(result.figures.cacheOps).toBeGreaterThan(1_000);
      expect(result.figures.lockHolds).toBeGreaterThan(10);
      expect(result.figures.failoverMs).toBeDefined();
      expect(result.figures.recoveryMs).toBeDefined();
    });
  }
});
