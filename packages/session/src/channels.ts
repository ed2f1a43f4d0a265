import { eventChannel, type ProblemKind } from '@x/connection';

/**
 * Message of `x:session:fail-closed`: a store call failed with `SessionUnavailableError` (Redis
 * refused, frozen past the deadline, circuit open, misconfigured). No session id, no user id: low
 * cardinality, for metrics and alerts.
 */
export interface SessionFailClosedMessage {
  /** The store call, e.g. `'get'`, `'create'`, `'destroy'` (express store calls too: `'set'`...). */
  operation: string;
  /** The diagnosis' kind (`'refused'`, `'timeout'`, `'auth'`, `'tls'`...), `null` when there is none. */
  kind: ProblemKind | null;
}

/**
 * The `node:diagnostics_channel` channels `@x/session` publishes on (only when someone subscribed).
 * Counters are in `stats()`; each Redis call is also traced on `x:connection:call` with the store
 * operation as its `operation`.
 */
export const SESSION_CHANNELS = {
  /** {@link SessionFailClosedMessage}, once per call that failed closed. */
  failClosed: 'x:session:fail-closed',
} as const;

/** @internal */
export const failClosedChannel = eventChannel<SessionFailClosedMessage>(
  SESSION_CHANNELS.failClosed,
);
