import { ATTRIBUTES } from '../attributes.js';
import { num, type PackageTable, type Row, stateRows } from './table.js';

/** Outcomes of one source's decisions. */
interface Outcomes {
  allowed?: number;
  refused?: number;
}

/** The part of `RateLimiterStats` read here. */
export interface RateLimitStatsShape {
  source?: string;
  decisions?: { redis?: Outcomes; local?: Outcomes; open?: Outcomes; closed?: Outcomes };
  peeks?: number;
  resets?: number;
  resetFailures?: number;
  sourceChanges?: number;
  localKeys?: number;
}

const SOURCES = ['redis', 'local', 'open', 'closed'] as const;

/** The decisions that can happen: a source admits, refuses, or both. */
const DECISIONS: readonly [(typeof SOURCES)[number], keyof Outcomes][] = [
  ['redis', 'allowed'],
  ['redis', 'refused'],
  ['local', 'allowed'],
  ['local', 'refused'],
  ['open', 'allowed'],
  ['closed', 'refused'],
];

const rows: Row<RateLimitStatsShape>[] = [
  ...DECISIONS.map(
    ([source, outcome]): Row<RateLimitStatsShape> => ({
      instrument: 'ratelimitDecisions',
      attributes: { [ATTRIBUTES.source]: source, [ATTRIBUTES.outcome]: outcome },
      read: (s) => num(s.decisions?.[source]?.[outcome]),
    }),
  ),
  // Every decision of a fallback is a call served without Redis.
  ...(['local', 'open', 'closed'] as const).map(
    (source): Row<RateLimitStatsShape> => ({
      instrument: 'fallbackServed',
      attributes: { [ATTRIBUTES.source]: source },
      read: (s) => {
        const d = s.decisions?.[source];
        if (d === undefined) return undefined;
        return (num(d.allowed) ?? 0) + (num(d.refused) ?? 0);
      },
    }),
  ),
  ...stateRows<RateLimitStatsShape>('ratelimitSource', ATTRIBUTES.source, SOURCES, (s) => s.source),
  { instrument: 'ratelimitSourceChanges', read: (s) => num(s.sourceChanges) },
  { instrument: 'ratelimitPeeks', read: (s) => num(s.peeks) },
  {
    instrument: 'ratelimitResets',
    attributes: { [ATTRIBUTES.outcome]: 'done' },
    read: (s) => num(s.resets),
  },
  {
    instrument: 'ratelimitResets',
    attributes: { [ATTRIBUTES.outcome]: 'unavailable' },
    read: (s) => num(s.resetFailures),
  },
  { instrument: 'ratelimitLocalKeys', read: (s) => num(s.localKeys) },
];

/** `@x/ratelimit`: decisions by source and outcome, the source, resets, the local limiter. */
export const RATELIMIT_TABLE: PackageTable<RateLimitStatsShape> = {
  package: '@x/ratelimit',
  rows,
};
