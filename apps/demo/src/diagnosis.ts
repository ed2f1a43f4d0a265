import type { HybridClientStats } from '@x/hybrid-client';

/** The connection's diagnosis, as every x package's `stats().redis.problem` carries it. */
export type RedisProblem = NonNullable<NonNullable<HybridClientStats['redis']>['problem']>;

/** What the demo shows of a problem: the kind, the server's words, what to change, since when. */
export interface Diagnosis {
  /** `'auth'`, `'refused'`, `'timeout'`, `'tls'`, `'dns'`, `'permission'`, `'mode-mismatch'`... */
  kind: string;
  /** What happened, in the server's (or the system's) own words. */
  message: string;
  /** What to change or check. */
  hint: string;
  /** When it was first seen (ISO 8601). */
  since: string;
  /** A setup error that waiting does not fix (wrong password, TLS mismatch, unknown host...). */
  misconfiguration: boolean;
}

/** The diagnosis for JSON answers (no raw client error text: only the classified problem). */
export function toDiagnosis(problem: RedisProblem | null | undefined): Diagnosis | null {
  if (!problem) return null;
  return {
    kind: problem.kind,
    message: problem.message,
    hint: problem.hint,
    since: new Date(problem.since).toISOString(),
    misconfiguration: problem.misconfiguration,
  };
}
