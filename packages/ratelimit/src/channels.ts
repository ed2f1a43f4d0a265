import { eventChannel, type Problem } from '@x/connection';
import type { RateLimitSource } from './types.js';

/** Message of `x:ratelimit:source`: decisions started coming from another source. */
export interface RateLimitSourceMessage {
  /** Where decisions came from. */
  from: RateLimitSource;
  /** Where they come from now. */
  to: RateLimitSource;
  /** The connection's diagnosis when decisions left Redis; `null` on the way back. */
  problem: Problem | null;
}

/**
 * The `node:diagnostics_channel` channels `@x/ratelimit` publishes on (only when someone
 * subscribed). Messages carry no keys (low cardinality); counters are in `stats()`, and
 * `consume` / `peek` / `reset` are traced on `@x/connection`'s `x:connection:call` (operation
 * `'consume'`, `'peek'`, `'reset'`) when someone listens there.
 */
export const RATELIMIT_CHANNELS = {
  /** {@link RateLimitSourceMessage}, once per change of source (`'redis'` → `'local'` and back). */
  source: 'x:ratelimit:source',
} as const;

/** @internal */
export const sourceChannel = eventChannel<RateLimitSourceMessage>(RATELIMIT_CHANNELS.source);
