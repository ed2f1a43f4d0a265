// Helpers shared by this package's tests (never exported from index.ts, not bundled).
import type { LogFields } from '@x/connection';

/** One line captured by {@link testLogger}. */
export interface LogLine {
  msg: string;
  fields: LogFields;
}

/** A `(msg, fields)` logger that records every line. */
export function testLogger(): ((msg: string, fields: LogFields) => void) & {
  lines: LogLine[];
  count(reason: string): number;
} {
  const lines: LogLine[] = [];
  const fn = (msg: string, fields: LogFields): void => {
    lines.push({ msg, fields });
  };
  return Object.assign(fn, {
    lines,
    count: (reason: string) => lines.filter((l) => l.fields.reason === reason).length,
  });
}

/** Small timeouts that keep the suite fast. */
export const FAST = {
  timeoutMs: 100,
  probeIntervalMs: 100,
  startupProbeTimeoutMs: 300,
} as const;
