import type { Attributes } from '../attributes.js';
import type { InstrumentKey } from '../instruments.js';

/**
 * One line of a package's table: an instrument, the attributes this line adds, and how to read
 * its value from the package's `stats()`. `read` returns `undefined` when the value is not there
 * (a field a version of the package does not have yet): nothing is observed then.
 */
export interface Row<S = any> {
  readonly instrument: InstrumentKey;
  /** Attributes of this line (fixed), or computed from the stats (`undefined`: skip the line). */
  readonly attributes?: Attributes | ((stats: S) => Attributes | undefined);
  readonly read: (stats: S) => number | undefined;
}

/**
 * What `@x/otel` reads from the `stats()` of one package. Adding a package is adding one of
 * these (in `src/packages/<package>.ts`) to `TABLES`.
 */
export interface PackageTable<S = any> {
  /** The package as it announces itself on `x:instances`, e.g. `'@x/lock'`. */
  readonly package: string;
  readonly rows: readonly Row<S>[];
}

/** A finite number, else `undefined` (a missing or malformed field observes nothing). */
export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Milliseconds to seconds (`undefined` stays `undefined`). */
export function seconds(ms: unknown): number | undefined {
  const n = num(ms);
  return n === undefined ? undefined : n / 1000;
}

/** The sum of the finite numbers among `values`; `undefined` when there is none. */
export function sum(...values: unknown[]): number | undefined {
  let total: number | undefined;
  for (const value of values) {
    const n = num(value);
    if (n !== undefined) total = (total ?? 0) + n;
  }
  return total;
}

/** A field of an object that may be missing: `undefined` for anything that is not an object. */
export function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/**
 * One row per value of a state: 1 for the current one, 0 for the others, so that every state has
 * a series from the start (a dashboard can alert on `open == 1`). `undefined` from `read`
 * (no such state, e.g. no breaker) observes nothing.
 */
export function stateRows<S>(
  instrument: InstrumentKey,
  attribute: string,
  values: readonly string[],
  read: (stats: S) => unknown,
): Row<S>[] {
  return values.map((value) => ({
    instrument,
    attributes: { [attribute]: value },
    read: (stats: S) => {
      const current = read(stats);
      if (typeof current !== 'string') return undefined;
      return current === value ? 1 : 0;
    },
  }));
}
