/** One line of the results table. Peers carry no bar; `met` is undefined for them. */
export interface Row {
  /** Case number and name, e.g. `'1 hybrid redis'`. */
  case: string;
  /** What was measured, e.g. `'raw ioredis GET/SET'`. */
  subject: string;
  opsPerSec?: number | undefined;
  /** Micro cases: cost (or overhead over the baseline) of one call, in ns. */
  nsPerOp?: number | undefined;
  p50Ms?: number | undefined;
  p99Ms?: number | undefined;
  maxMs?: number | undefined;
  /** ours / peer (for the quantity named in `bar`). */
  ratio?: number | undefined;
  /** The bar this row must reach, in words. */
  bar?: string | undefined;
  /** Whether the bar is reached; undefined for rows without a bar. */
  met?: boolean | undefined;
  /** Free text: errors, what the ratio compares, why a case did not run. */
  note?: string | undefined;
}

/** Per-run figures of the failover case. */
export interface FailoverRow {
  fault: 'kill' | 'freeze';
  subject: string;
  ops: number;
  errors: number;
  /** Calls that took more than 1 s. */
  slow: number;
  maxMs: number;
  /** Share of calls that succeeded, over the whole run. */
  successRate: number;
  /** Share of 100 ms slots of the fault window in which at least one call succeeded. */
  availability: number;
  /** Calls that succeeded per second during the fault window. */
  faultOpsPerSec: number;
  /** From "Redis answers again" until traffic is back on Redis, in ms; undefined: never. */
  backOnRedisMs: number | undefined;
  /** Calls still unsettled when the run ended (counted as slow and as failed). */
  stuck: number;
  note?: string | undefined;
}

function fmtInt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

function fmtNs(ns: number | undefined): string {
  if (ns === undefined || !Number.isFinite(ns)) return '-';
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${Math.round(ns)} ns`;
}

function fmtRatio(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? '-' : `${r.toFixed(2)}×`;
}

function fmtMet(met: boolean | undefined): string {
  return met === undefined ? '' : met ? 'yes' : '**no**';
}

function table(head: string[], body: string[][]): string {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of body) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** The main results table, in Markdown. */
export function renderRows(rows: readonly Row[]): string {
  return table(
    ['case', 'subject', 'ops/s', 'per op', 'p50', 'p99', 'max', 'ratio', 'bar', 'met', 'note'],
    rows.map((r) => [
      r.case,
      r.subject,
      fmtInt(r.opsPerSec),
      fmtNs(r.nsPerOp),
      fmtMs(r.p50Ms),
      fmtMs(r.p99Ms),
      fmtMs(r.maxMs),
      fmtRatio(r.ratio),
      r.bar ?? '',
      fmtMet(r.met),
      r.note ?? '',
    ]),
  );
}

/** The failover detail table, in Markdown. */
export function renderFailover(rows: readonly FailoverRow[]): string {
  return table(
    [
      'fault',
      'subject',
      'calls',
      'errors',
      'stuck',
      '> 1 s',
      'max',
      'succeeded',
      'availability in fault',
      'ok calls/s in fault',
      'back on Redis',
      'note',
    ],
    rows.map((r) => [
      r.fault,
      r.subject,
      fmtInt(r.ops),
      fmtInt(r.errors),
      fmtInt(r.stuck),
      fmtInt(r.slow),
      fmtMs(r.maxMs),
      `${(r.successRate * 100).toFixed(2)}%`,
      `${(r.availability * 100).toFixed(0)}%`,
      fmtInt(r.faultOpsPerSec),
      r.backOnRedisMs === undefined ? 'never' : fmtMs(r.backOnRedisMs),
      r.note ?? '',
    ]),
  );
}
