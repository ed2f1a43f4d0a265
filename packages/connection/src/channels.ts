import diagnostics_channel, { type TracingChannel } from 'node:diagnostics_channel';
import type { Problem } from './diagnosis.js';

/**
 * A named `node:diagnostics_channel` channel carrying messages of type `T`. Publishing costs one
 * property read when nobody listens: check {@link EventChannel.hasSubscribers} before building a
 * message that allocates.
 */
export interface EventChannel<T> {
  /** The channel name, e.g. `'x:connection:state'`. */
  readonly name: string;
  /** True when someone subscribed (`diagnostics_channel.subscribe(name, fn)`). */
  readonly hasSubscribers: boolean;
  /** Publishes `message` to the subscribers (nothing happens when there are none). */
  publish(message: T): void;
}

/**
 * The channel named `name`, typed. Every x package publishes its events this way, under
 * `x:<package>:<event>`; `@x/otel` (or your own code) subscribes with
 * `diagnostics_channel.subscribe(name, listener)`.
 * @example
 * const failovers = eventChannel<{ cause: string }>('x:hybrid:failover');
 * if (failovers.hasSubscribers) failovers.publish({ cause: 'connection_lost' });
 */
export function eventChannel<T>(name: string): EventChannel<T> {
  const channel = diagnostics_channel.channel(name);
  return {
    name,
    get hasSubscribers(): boolean {
      return channel.hasSubscribers;
    },
    publish(message: T): void {
      if (channel.hasSubscribers) channel.publish(message);
    },
  };
}

/**
 * The `TracingChannel` named `name` (`tracing:<name>:start`, `:end`, `:asyncStart`, `:asyncEnd`,
 * `:error`), for operations: wrap a call with `channel.tracePromise(fn, context)` only when
 * `channel.hasSubscribers`, so an unobserved call pays nothing.
 */
export function operationChannel<C extends object>(name: string): TracingChannel<unknown, C> {
  return diagnostics_channel.tracingChannel(name) as TracingChannel<unknown, C>;
}

/** States of a connection (see `Connection.state`). */
export type ConnectionState = 'connecting' | 'ready' | 'unusable' | 'closed';

/** Message of {@link CONNECTION_CHANNELS}.state. */
export interface ConnectionStateMessage {
  /** The connection's name (the package using it, e.g. `'@x/lock'`). */
  connection: string;
  from: ConnectionState;
  to: ConnectionState;
  /** Why it changed, e.g. `'ready'`, `'connection_lost'`, `'breaker_open'`, `'misconfigured'`. */
  reason: string;
  /** The current problem, `null` when there is none. */
  problem: Problem | null;
}

/** Message of {@link CONNECTION_CHANNELS}.problem: a new problem, or `null` when it cleared. */
export interface ConnectionProblemMessage {
  connection: string;
  problem: Problem | null;
}

/** Context of a traced call on {@link CONNECTION_CHANNELS}.call. */
export interface ConnectionCallContext {
  connection: string;
  /** What the call does, e.g. `'acquire'`, `'consume'`, `'get'`. Low cardinality: no keys. */
  operation: string;
}

/** The channels `@x/connection` publishes on. */
export const CONNECTION_CHANNELS = {
  /** Every state change of every connection ({@link ConnectionStateMessage}). */
  state: 'x:connection:state',
  /** A problem found or cleared ({@link ConnectionProblemMessage}). */
  problem: 'x:connection:problem',
  /** A TracingChannel: every call made with `connection.execute` ({@link ConnectionCallContext}). */
  call: 'x:connection:call',
} as const;

/** @internal */
export const stateChannel = eventChannel<ConnectionStateMessage>(CONNECTION_CHANNELS.state);
/** @internal */
export const problemChannel = eventChannel<ConnectionProblemMessage>(CONNECTION_CHANNELS.problem);
/** @internal */
export const callChannel = operationChannel<ConnectionCallContext>(CONNECTION_CHANNELS.call);
