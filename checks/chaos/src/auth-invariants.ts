// The invariant the `credential-rotation` scenario adds to every other: no failure for
// credentials. Kept apart from invariants.ts, which calls it.
import type { RotationFigures } from './credential-rotator';
import type { WorkerSummary } from './protocol';
import type { Scenario } from './scenarios';

/** The figures of a scenario with rotating credentials (a table cell). */
export interface AuthFigures {
  /** Failures for credentials over every worker: must be 0. */
  failures: number;
  rotations: number;
  killRounds: number;
  /** Connections the kill rounds closed. */
  killed: number;
  /** Provider calls over every worker (connections, reconnections, re-authentications). */
  providerCalls: number;
}

/**
 * For a scenario with `rotation`: checks that no worker saw a failure for credentials (a
 * connection problem of kind `auth`, a failover of the hybrid client other than
 * `connection_lost`), that the controller did rotate and kill, and that each worker reported;
 * pushes every broken one to `violations`. `undefined` for other scenarios.
 */
export function authChecks(
  scenario: Scenario,
  summaries: WorkerSummary[],
  rotation: RotationFigures | undefined,
  violations: string[],
): AuthFigures | undefined {
  if (scenario.rotation === undefined) return undefined;
  const reported = summaries.filter((s) => s.auth !== undefined);
  const figures: AuthFigures = {
    failures: reported.reduce((a, s) => a + (s.auth?.failureCount ?? 0), 0),
    rotations: rotation?.rotations ?? 0,
    killRounds: rotation?.killRounds ?? 0,
    killed: rotation?.killed ?? 0,
    providerCalls: reported.reduce((a, s) => a + (s.auth?.providerCalls ?? 0), 0),
  };
  const silent = summaries.filter((s) => s.cache !== undefined && s.auth === undefined);
  if (silent.length) {
    violations.push(`credentials: ${silent.length} worker(s) reported no credential figures`);
  }
  if (figures.failures) {
    violations.push(
      `auth failures: ${figures.failures} (${reported
        .flatMap((s) => s.auth?.failures ?? [])
        .slice(0, 3)
        .join(' | ')})`,
    );
  }
  const causes = reported.flatMap((s) => s.auth?.failoverCauses ?? []);
  const other = causes.filter((c) => c !== 'connection_lost');
  if (other.length) {
    violations.push(
      `hybrid client failed over for ${[...new Set(other)].join(', ')}, not a lost connection`,
    );
  }
  if (rotation === undefined || rotation.rotations === 0 || rotation.killRounds === 0) {
    violations.push('credentials: the controller did not rotate and kill');
  } else if (rotation.errors.length) {
    violations.push(
      `credentials: rotation steps failed: ${rotation.errors.slice(0, 3).join(' | ')}`,
    );
  }
  // Every killed connection reconnects through the provider.
  if (rotation !== undefined && figures.providerCalls <= rotation.killRounds) {
    violations.push(
      `credentials: ${figures.providerCalls} provider calls for ${rotation.killRounds} kill rounds (reconnections did not ask the provider)`,
    );
  }
  return figures;
}
