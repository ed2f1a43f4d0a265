import type { ScenarioResult } from './controller';

const ms = (n: number | undefined) => (n === undefined ? '—' : `${n} ms`);

/** One Markdown table with a row per scenario, then the broken invariants (if any). */
export function formatReport(results: ScenarioResult[]): string {
  const head = [
    'scenario',
    'crashes / unhandled',
    'cache ops',
    'cache failed',
    'cache max',
    'over deadline',
    'lock holds',
    'lock overlaps',
    'tokens ↑',
    'rate max/window (redis ≤ limit)',
    'rate max/window (local ≤ bound)',
    'sessions ok / fail-closed / bad',
    'sessions intact',
    'heap ×',
    'failover',
    'recovery',
    'auth failures (rotations / kills)',
    'coherence: reads near / stale, max lag',
    'invariants',
  ];
  const rows = results.map(({ scenario, figures: f, violations }) => [
    scenario,
    `${f.crashes} / ${f.unhandled}`,
    String(f.cacheOps),
    String(f.cacheFailures),
    ms(f.cacheMaxMs),
    String(f.cacheOverDeadline),
    String(f.lockHolds),
    String(f.lockOverlaps),
    f.lockTokensMonotonic ? 'yes' : 'NO',
    `${f.rateMaxRedisWindow} ≤ ${f.rateLimit}`,
    `${f.rateMaxLocalWindow} ≤ ${f.rateLocalBound}`,
    `${f.sessionOk} / ${f.sessionFailClosed} / ${f.sessionBad}`,
    f.sessionIntact,
    f.heapTrend === undefined ? String(f.heapFactor) : `${f.heapFactor} (floor ${f.heapTrend})`,
    f.outages > 1 ? `${ms(f.failoverMs)} (max of ${f.outages})` : ms(f.failoverMs),
    f.outages > 1 ? `${ms(f.recoveryMs)} (max of ${f.outages})` : ms(f.recoveryMs),
    f.auth ? `${f.auth.failures} (${f.auth.rotations} / ${f.auth.killRounds})` : '—',
    f.coherence
      ? `${f.coherence.reads} ${f.coherence.nearReads} / ${f.coherence.staleReads}, ${ms(f.coherence.maxLagMs)}`
      : '—',
    violations.length ? `BROKEN (${violations.length})` : 'held',
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [line(head), line(head.map(() => '---')), ...rows.map(line)];
  for (const r of results) {
    for (const violation of r.violations) out.push(`- ${r.scenario}: ${violation}`);
  }
  return out.join('\n');
}
