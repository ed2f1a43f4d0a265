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
  /** Set to `true` when the call's fallback served it instead of Redis. */
  fallback?: boolean;
}

/**
 * Message of the `x:instances` channel: an instance of an x package was created (`'open'`) or
 * closed (`'close'`). `@x/otel` keeps the open ones and reads their `stats()` when metrics are
 * collected, so counting costs nothing on the hot path.
 */
export interface InstanceMessage {
  /** The package, e.g. `'@x/lock'`. */
  package: string;
  /** `'open'` when created, `'close'` when closed. */
  event: 'open' | 'close';
  /** The instance: anything with a `stats()` method. */
  instance: { stats(): unknown };
  /** A name that tells instances of one package apart (low cardinality), when there is one. */
  name?: string | undefined;
}

/** Where every x package announces its instances ({@link InstanceMessage}). */
export const INSTANCES_CHANNEL = 'x:instances';

const instancesChannel = eventChannel<InstanceMessage>(INSTANCES_CHANNEL);

// The open instances, so that a subscriber that comes later (an `instrument()` called after the
// clients were made) sees them too. Entries leave at `close`; an instance that is never closed
// stays, as its connections do.
const open = new Map<object, InstanceMessage>();

/**
 * Announces an instance on `x:instances` (call it when the instance is created, and with
 * `'close'` when it is closed), and keeps the open ones for {@link openInstances}.
 */
export function announceInstance(
  pkg: string,
  event: 'open' | 'close',
  instance: { stats(): unknown },
  name?: string,
): void {
  const message: InstanceMessage = { package: pkg, event, instance, name };
  if (event === 'open') open.set(instance, message);
  else open.delete(instance);
  if (instancesChannel.hasSubscribers) instancesChannel.publish(message);
}

/** The instances announced open and not closed yet (for a subscriber that starts late). */
export function openInstances(): InstanceMessage[] {
  return [...open.values()];
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
/**
 * The TracingChannel of guarded calls (`x:connection:call`). A package whose hot path calls the
 * guard directly checks `connectionCallChannel.hasSubscribers` and, only then, goes through
 * `connection.execute` so that the call is traced.
 */
export const connectionCallChannel = operationChannel<ConnectionCallContext>(
  CONNECTION_CHANNELS.call,
);
const callChannel = connectionCallChannel;

export { callChannel };
