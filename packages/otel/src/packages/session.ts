import { ATTRIBUTES } from '../attributes.js';
import { num, type PackageTable, type Row } from './table.js';

/** The part of `SessionStoreStats` read here. */
export interface SessionStatsShape {
  created?: number;
  read?: number;
  updated?: number;
  touched?: number;
  destroyed?: number;
  rotated?: number;
  failedClosed?: number;
  servedFromMemory?: number;
  pendingReconcile?: number;
  reconciled?: number;
  reconcileSkipped?: number;
  reconcileDropped?: number;
}

/** `x.operation` of each counter of the store. */
const OPERATIONS: readonly [string, keyof SessionStatsShape][] = [
  ['create', 'created'],
  ['get', 'read'],
  ['update', 'updated'],
  ['touch', 'touched'],
  ['destroy', 'destroyed'],
  ['rotate', 'rotated'],
];

const RECONCILE: readonly [string, keyof SessionStatsShape][] = [
  ['replayed', 'reconciled'],
  ['skipped', 'reconcileSkipped'],
  ['dropped', 'reconcileDropped'],
];

const rows: Row<SessionStatsShape>[] = [
  ...OPERATIONS.map(
    ([operation, name]): Row<SessionStatsShape> => ({
      instrument: 'sessionOperations',
      attributes: { [ATTRIBUTES.operation]: operation },
      read: (s) => num(s[name]),
    }),
  ),
  { instrument: 'sessionFailClosed', read: (s) => num(s.failedClosed) },
  {
    instrument: 'fallbackServed',
    attributes: { [ATTRIBUTES.source]: 'memory' },
    read: (s) => num(s.servedFromMemory),
  },
  { instrument: 'sessionReconcilePending', read: (s) => num(s.pendingReconcile) },
  ...RECONCILE.map(
    ([outcome, name]): Row<SessionStatsShape> => ({
      instrument: 'sessionReconciled',
      attributes: { [ATTRIBUTES.outcome]: outcome },
      read: (s) => num(s[name]),
    }),
  ),
];

/** `@x/session`: store operations, calls that failed closed, memory serves, reconciliation. */
export const SESSION_TABLE: PackageTable<SessionStatsShape> = { package: '@x/session', rows };
