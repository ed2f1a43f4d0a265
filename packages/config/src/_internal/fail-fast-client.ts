import {
  Cluster,
  type ClusterNode,
  type ClusterOptions,
  type Command,
  Redis,
  type RedisOptions,
} from 'ioredis';
import { RedisNotConnectedError } from '../errors.js';
import { explainConnectionError } from './connection-hint.js';
import { formatHostPort } from './endpoint.js';

type AnyClient = Redis | Cluster;

// The error of the last failed connection attempt of each client (cleared on 'ready').
const lastErrors = new WeakMap<object, Error>();
// Where each client connects, for messages.
interface Target {
  /** `host:port`, `master "name" via Sentinel`, `Cluster nodes a:1, b:2`. */
  readonly address: string;
  /** For messages: `Redis at host:port`, `Redis master "name" via Sentinel`, `Redis Cluster nodes ...`. */
  readonly name: string;
  readonly tls: boolean;
}
const targets = new WeakMap<object, Target>();
const watched = new WeakSet<object>();

// Shared listeners (no closure per client): `this` is the emitting client.
function recordError(this: AnyClient, error: Error): void {
  const cause = connectionCause(error);
  if (cause !== undefined) lastErrors.set(this, cause);
}

/**
 * What a connection error comes down to. A `RedisNotConnectedError` (our own, e.g. a ready check
 * refused on a socket the server had closed, re-emitted by ioredis as an error event) stands for
 * its cause, or for nothing when it has none: messages never nest one "not connected" in another
 * (they would grow with every reconnection attempt).
 */
function connectionCause(error: Error): Error | undefined {
  let found: unknown = error;
  while (found instanceof RedisNotConnectedError) found = found.cause;
  return found instanceof Error ? found : undefined;
}
function clearError(this: AnyClient): void {
  lastErrors.delete(this);
}

/** The error of the last failed connection attempt of `client`, until it is ready again. */
export function lastConnectionError(client: object): Error | undefined {
  return lastErrors.get(client);
}

/**
 * Remembers connection errors of a client made elsewhere (a duplicate the runtime creates),
 * so that its messages can say why it is not connected. Idempotent.
 */
export function watchConnectionErrors(client: AnyClient): void {
  if (watched.has(client)) return;
  watched.add(client);
  client.on('error', recordError);
  client.on('ready', clearError);
  if (client instanceof Cluster || (client as { isCluster?: boolean }).isCluster === true) {
    client.on('node error', recordError);
  }
}

/** Where `client` connects (for messages), and whether TLS is on. */
export function describeTarget(client: AnyClient): Target {
  const known = targets.get(client);
  if (known !== undefined) return known;
  const options = client.options as RedisOptions & ClusterOptions;
  let target: Target;
  if ((client as { isCluster?: boolean }).isCluster === true) {
    const nodes = (client as { startupNodes?: unknown[] }).startupNodes ?? [];
    target = clusterTarget(nodes, Boolean(options.redisOptions?.tls));
  } else if (options.sentinels) {
    const address = `master "${options.name ?? '?'}" via Sentinel`;
    target = {
      address,
      name: `Redis ${address}`,
      tls: Boolean(options.tls) && options.enableTLSForSentinelMode === true,
    };
  } else {
    const path = (options as { path?: unknown }).path;
    const address =
      typeof path === 'string'
        ? path
        : formatHostPort(options.host ?? '127.0.0.1', options.port ?? 6379);
    target = { address, name: `Redis at ${address}`, tls: Boolean(options.tls) };
  }
  targets.set(client, target);
  return target;
}

function clusterTarget(nodes: readonly unknown[], tls: boolean): Target {
  const address = `Cluster nodes ${nodes.map(nodeName).join(', ') || '(none)'}`;
  return { address, name: `the Redis Cluster (nodes ${nodes.map(nodeName).join(', ')})`, tls };
}

function nodeName(node: unknown): string {
  if (typeof node === 'number' || typeof node === 'string') return String(node);
  const n = node as { host?: string; port?: number };
  return formatHostPort(n.host ?? '127.0.0.1', n.port ?? 6379);
}

/**
 * The error for a client that has no usable connection: what the last connection attempt ran
 * into and what to check (or, with no attempt failed yet, that commands are not queued).
 * `waitedMs` words it for `waitForReady`.
 */
export function notConnectedError(
  client: AnyClient,
  waitedMs?: number,
  fallbackCause?: Error,
): RedisNotConnectedError {
  const { address, name, tls } = describeTarget(client);
  const status = client.status;
  const cause =
    lastErrors.get(client) ??
    (fallbackCause === undefined ? undefined : connectionCause(fallbackCause));
  const explained = cause === undefined ? undefined : explainConnectionError(cause, address, tls);
  let lead: string;
  if (status === 'end') {
    lead = `the client of ${name} is closed (quit() or disconnect() was called, or it stopped reconnecting): create a new client`;
  } else if (waitedMs !== undefined) {
    lead = `${name} is not ready after ${waitedMs} ms (${status})`;
  } else {
    lead = `not connected to ${name} (${status})`;
  }
  let message: string;
  if (cause === undefined) {
    message =
      status === 'end'
        ? lead
        : waitedMs !== undefined
          ? `${lead}: no connection attempt has failed yet, the server has not answered: it may be frozen or overloaded, or a firewall drops the traffic (connectTimeout bounds each attempt)`
          : status === 'reconnecting' || status === 'close' || status === 'ready'
            ? // 'ready': the server closed the socket and ioredis has not seen the 'close' yet.
              `${lead}: the connection was lost and the client is reconnecting; the command was not sent (send it again once the client is ready)`
            : status === 'connect'
              ? `${lead}: the server accepted the connection but has not answered its first commands yet (frozen or overloaded?); commands are not queued until the client is ready: await waitForReady(client) before the first command`
              : `${lead}: the client is still connecting and commands are not queued until it is ready; await waitForReady(client) before the first command`;
  } else {
    const what = explained?.what ?? cause.message.replace(/\.\s*$/, '');
    message = `${lead}; the last connection attempt failed: ${what}${explained?.hint ? ` (${explained.hint})` : ''}`;
  }
  return new RedisNotConnectedError(message, address, status, cause);
}

/** True when the last connection error of `client` is a setup error that waiting does not fix. */
export function isMisconfigured(client: AnyClient): boolean {
  const cause = lastErrors.get(client);
  if (cause === undefined) return false;
  const { address, tls } = describeTarget(client);
  return explainConnectionError(cause, address, tls)?.type === 'misconfiguration';
}

// The bare ioredis rejections of a command that met no usable connection.
const BARE = ["Stream isn't writeable", "Cluster isn't ready", 'Connection is closed.'];

function isBareNotConnected(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  for (const prefix of BARE) if (error.message.startsWith(prefix)) return true;
  return false;
}

/**
 * Makes `command` reject with a {@link RedisNotConnectedError} (carrying the last connection
 * error) instead of ioredis' bare "Stream isn't writeable and enableOfflineQueue options is
 * false". Called only while the client is not ready: the ready path allocates nothing.
 */
function explainRejection(client: AnyClient, command: Command): void {
  const reject = command.reject;
  command.reject = (error: Error): void => {
    reject(isBareNotConnected(error) ? notConnectedError(client) : error);
  };
}

type SendStream = Parameters<Redis['sendCommand']>[1];

/**
 * Rejects the commands that were in flight when the connection closed. ioredis keeps them, and
 * without `autoResendUnfulfilledCommands` drops them at the next `ready` without settling them:
 * they would only fail at their `commandTimeout`. They may or may not have run; the caller decides
 * whether to send them again. Runs on 'close' (ioredis emits it before it moves the queue).
 */
function rejectInFlight(this: FailFastRedis): void {
  if (!inFlightWhenClosed.has(this) || this.options.autoResendUnfulfilledCommands) return;
  inFlightWhenClosed.delete(this);
  const queue = this.commandQueue;
  if (queue.length === 0) return;
  const error = connectionLostError(this);
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    item.command.reject(error);
  }
}
// Clients that were ready when their connection closed (their queue holds user commands, not
// ioredis' own handshake).
const inFlightWhenClosed = new WeakSet<object>();
function markReady(this: FailFastRedis): void {
  inFlightWhenClosed.add(this);
}

/** The error of a command whose connection closed while it was in flight. */
export function connectionLostError(client: AnyClient): RedisNotConnectedError {
  const { address, name } = describeTarget(client);
  const cause = lastErrors.get(client);
  return new RedisNotConnectedError(
    `the connection to ${name} closed while the command was in flight: it may or may not have run (send it again only if running it twice is harmless); the client reconnects by itself${cause ? `; last connection error: ${cause.message.replace(/\.\s*$/, '')}` : ''}`,
    address,
    client.status,
    cause,
  );
}

/**
 * The `Redis` that `createRedisClient` returns: ioredis' own class, whose commands, while there
 * is no usable connection, reject with a {@link RedisNotConnectedError} that says why, and whose
 * commands in flight when the connection closes reject at once (not at their `commandTimeout`).
 * Its duplicates are of the same class.
 */
export class FailFastRedis extends Redis {
  constructor(options: RedisOptions) {
    super(options);
    watchConnectionErrors(this);
    this.on('ready', markReady);
    this.on('close', rejectInFlight);
  }

  override sendCommand(command: Command, stream?: SendStream): unknown {
    // Not ready, or ready with a socket the server already closed (ioredis has not seen the
    // 'close' yet): ioredis rejects with a bare "Stream isn't writeable".
    if (this.status !== 'ready' || this.stream?.writable !== true) explainRejection(this, command);
    return super.sendCommand(command, stream);
  }

  override duplicate(override?: Partial<RedisOptions>): FailFastRedis {
    return new FailFastRedis({ ...this.options, ...override });
  }
}

/** The `Cluster` that `createRedisClient` returns (see {@link FailFastRedis}). */
export class FailFastCluster extends Cluster {
  readonly #nodes: ClusterNode[];

  constructor(startupNodes: ClusterNode[], options: ClusterOptions) {
    super(startupNodes, options);
    this.#nodes = startupNodes.slice(0);
    targets.set(this, clusterTarget(startupNodes, Boolean(options.redisOptions?.tls)));
    watchConnectionErrors(this);
  }

  override sendCommand(command: Command, stream?: SendStream, node?: unknown): unknown {
    if (this.status !== 'ready') explainRejection(this, command);
    return super.sendCommand(command, stream, node);
  }

  override duplicate(
    overrideStartupNodes: ClusterNode[] = [],
    overrideOptions = {},
  ): FailFastCluster {
    return new FailFastCluster(
      overrideStartupNodes.length > 0 ? overrideStartupNodes : this.#nodes.slice(0),
      { ...this.options, ...overrideOptions },
    );
  }
}
