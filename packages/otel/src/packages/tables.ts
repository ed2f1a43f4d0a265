import { HYBRID_CLIENT_TABLE } from './hybrid-client.js';
import { LOCK_TABLE } from './lock.js';
import { PUBSUB_TABLE } from './pubsub.js';
import { RATELIMIT_TABLE } from './ratelimit.js';
import { SESSION_TABLE } from './session.js';
import type { PackageTable } from './table.js';

/**
 * The table of each package, by the name it announces on `x:instances`. A package without a
 * table still gets its `redis` block read.
 */
export const TABLES: ReadonlyMap<string, PackageTable> = new Map(
  [HYBRID_CLIENT_TABLE, LOCK_TABLE, PUBSUB_TABLE, RATELIMIT_TABLE, SESSION_TABLE].map((t) => [
    t.package,
    t as PackageTable,
  ]),
);
