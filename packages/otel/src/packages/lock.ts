import { num, type PackageTable, type Row } from './table.js';

/** The part of `LockStats` read here. */
export interface LockStatsShape {
  acquired?: number;
  contended?: number;
  timedOut?: number;
  unavailable?: number;
  aborted?: number;
  released?: number;
  extended?: number;
  lost?: number;
  held?: number;
  waiting?: number;
}

const rows: Row<LockStatsShape>[] = [
  { instrument: 'lockAcquired', read: (s) => num(s.acquired) },
  { instrument: 'lockContended', read: (s) => num(s.contended) },
  { instrument: 'lockTimedOut', read: (s) => num(s.timedOut) },
  { instrument: 'lockUnavailable', read: (s) => num(s.unavailable) },
  { instrument: 'lockAborted', read: (s) => num(s.aborted) },
  { instrument: 'lockReleased', read: (s) => num(s.released) },
  { instrument: 'lockExtended', read: (s) => num(s.extended) },
  { instrument: 'lockLost', read: (s) => num(s.lost) },
  { instrument: 'lockHeld', read: (s) => num(s.held) },
  { instrument: 'lockWaiting', read: (s) => num(s.waiting) },
];

/** `@x/lock`: acquisitions by how they ended, releases, extensions, losses, held and waiting. */
export const LOCK_TABLE: PackageTable<LockStatsShape> = { package: '@x/lock', rows };
