import { ATTRIBUTES } from '../attributes.js';
import { field, num, type PackageTable, type Row, seconds, stateRows } from './table.js';

/**
 * The part of `HybridClientStats` read here. Fields are optional: older versions count memory
 * serves in `fallback.calls` (now `memory.calls`), and `near` (the near cache) lands later.
 */
export interface HybridStatsShape {
  activeBackend?: string;
  memory?: { calls?: number };
  fallback?: { calls?: number };
  failovers?: number;
  recoveries?: number;
  fallbackMs?: number;
  journal?: { size?: number; dropped?: number };
  local?: {
    hits?: number;
    misses?: number;
    evictions?: number;
    itemCount?: number;
    calculatedSize?: number;
  };
  near?: unknown;
}

const near = (s: HybridStatsShape, name: string): number | undefined => num(field(s.near, name));

const rows: Row<HybridStatsShape>[] = [
  {
    instrument: 'fallbackServed',
    attributes: { [ATTRIBUTES.source]: 'memory' },
    read: (s) => num(s.memory?.calls) ?? num(s.fallback?.calls),
  },
  ...stateRows<HybridStatsShape>(
    'hybridBackend',
    ATTRIBUTES.state,
    ['primary', 'fallback'],
    (s) => s.activeBackend,
  ),
  { instrument: 'hybridFailovers', read: (s) => num(s.failovers) },
  { instrument: 'hybridRecoveries', read: (s) => num(s.recoveries) },
  { instrument: 'hybridFallbackTime', read: (s) => seconds(s.fallbackMs) },
  { instrument: 'hybridJournalSize', read: (s) => num(s.journal?.size) },
  { instrument: 'hybridJournalDropped', read: (s) => num(s.journal?.dropped) },
  { instrument: 'localHits', read: (s) => num(s.local?.hits) },
  { instrument: 'localMisses', read: (s) => num(s.local?.misses) },
  { instrument: 'localEvictions', read: (s) => num(s.local?.evictions) },
  { instrument: 'localEntries', read: (s) => num(s.local?.itemCount) },
  { instrument: 'localSize', read: (s) => num(s.local?.calculatedSize) },
  // The near cache (stats().near): absent until the package has one; then every field it has.
  { instrument: 'nearHits', read: (s) => near(s, 'hits') },
  { instrument: 'nearMisses', read: (s) => near(s, 'misses') },
  { instrument: 'nearInvalidations', read: (s) => near(s, 'invalidations') },
  { instrument: 'nearStale', read: (s) => near(s, 'stale') ?? near(s, 'staleServes') },
  { instrument: 'nearEntries', read: (s) => near(s, 'entries') },
  { instrument: 'nearSize', read: (s) => near(s, 'bytes') },
];

/** `@x/hybrid-client`: memory serves, failovers, the journal, the local store, the near cache. */
export const HYBRID_CLIENT_TABLE: PackageTable<HybridStatsShape> = {
  package: '@x/hybrid-client',
  rows,
};
