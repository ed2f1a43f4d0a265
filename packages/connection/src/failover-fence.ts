import { isIP } from 'node:net';
import type { Redis, RedisOptions } from 'ioredis';
import {
  type Endpoint,
  FAILOVER_CHANNELS,
  type FailoverEvent,
  parseFailoverEvent,
} from './_internal/sentinel-events.js';
import { subscribeToSentinels } from './_internal/sentinel-subscribers.js';

/**
 * The longest a fence holds without news (ms). A Sentinel failover takes about 1 to 2 s (the
 * promotion is seen at the next INFO of the replica, every second during a failover, and the
 * switch follows); an election that nobody wins ends with `-failover-abort-not-elected` after
 * at most 10 s (Sentinel's election timeout). This bounds how long a missed end message (a
 * sentinel link that dropped at that moment) keeps the connection unusable, and how long a
 * replaced primary is remembered.
 */
export const FENCE_MAX_MS = 30_000;

/** What the fence tells its connection. */
export interface FenceHost {
  /** A failover of the primary began: writes to it from now on may be lost. */
  started(master: Endpoint): void;
  /** The failover ended (switched, given up, or no news for {@link FENCE_MAX_MS}): probe now. */
  ended(how: 'switched' | 'aborted' | 'expired'): void;
}

/** What the fence says about the node the client is connected to now. */
export type FenceVerdict =
  /** A failover is under way: the primary may be promoted away at any moment. */
  | 'fenced'
  /** The client is still connected to the primary the sentinels just replaced. */
  | 'stale'
  /** Nothing against using it. */
  | 'clear';

/** Options of {@link FailoverFence}. */
export interface FailoverFenceOptions extends FenceHost {
  /**
   * Longest the fence holds, and a replaced primary is remembered, without news, ms.
   * @default FENCE_MAX_MS
   */
  maxMs?: number;
  /** Where the client connects for an address the sentinels name (ioredis' `natMap`). @default the address itself */
  resolve?: (endpoint: Endpoint) => Endpoint;
  /**
   * Starts what feeds the fence (the sentinels' messages, read into {@link FailoverEvent}s);
   * what it returns is closed by {@link FailoverFence.stop}.
   * @default nothing: events come through {@link FailoverFence.event} only
   */
  subscribe?: (event: (sentinel: string, event: FailoverEvent) => void) => { close(): void };
}

/**
 * Keeps a Sentinel client off its primary while the sentinels replace it.
 *
 * Replication is asynchronous and the old primary is not told that its replica was promoted: it
 * keeps accepting writes until the sentinels publish `+switch-master` (about a second later) and
 * the client moves, and every one of those writes is lost with it. A limiter that decided there
 * admits requests that the new primary never counts. The fence closes that window: from the first
 * step of a failover a sentinel announces (`+try-failover`, before the replica is promoted) until
 * `+switch-master`, the connection is unusable; after the switch, a client still connected to the
 * replaced primary (its own `+switch-master` not processed yet) is not used until it has moved.
 *
 * Fed with the sentinels' messages ({@link FailoverFence.event}); the state is per sentinel, since
 * several may try at once and only one is elected (the others give up).
 */
export class FailoverFence {
  readonly #host: FenceHost;
  readonly #maxMs: number;
  readonly #resolve: (endpoint: Endpoint) => Endpoint;
  /** The sentinels running a failover of the primary now. */
  readonly #running = new Set<string>();
  /** The primary the sentinels replaced, until the client is seen elsewhere. */
  #stale: Endpoint | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #source: { close(): void } | undefined;

  constructor(options: FailoverFenceOptions) {
    this.#host = options;
    this.#maxMs = options.maxMs ?? FENCE_MAX_MS;
    this.#resolve = options.resolve ?? ((endpoint) => endpoint);
    this.#source = options.subscribe?.((sentinel, event) => this.event(sentinel, event));
  }

  /** Whether a failover is under way. */
  get active(): boolean {
    return this.#running.size > 0;
  }

  /** What `sentinel` (any stable name of it) published. */
  event(sentinel: string, event: FailoverEvent): void {
    if (this.#stopped) return;
    if (event.type === 'step') {
      const first = this.#running.size === 0;
      this.#running.add(sentinel);
      if (!first) return;
      this.#stale = undefined;
      this.#arm();
      this.#host.started(event.master);
    } else if (event.type === 'switch') {
      const stale = this.#resolve(event.from);
      // Every sentinel publishes the switch: the first one ends the fence.
      if (this.#running.size === 0 && this.#stale !== undefined && same(this.#stale, stale)) return;
      this.#running.clear();
      this.#stale = stale;
      this.#arm();
      this.#host.ended('switched');
    } else if (this.#running.delete(sentinel) && this.#running.size === 0) {
      this.#disarm();
      this.#host.ended('aborted');
    }
  }

  /**
   * Whether the node at `remote` (where the client is connected now; `undefined` when unknown)
   * may be used. Seeing the client elsewhere than the replaced primary forgets that primary.
   */
  verdict(remote: Endpoint | undefined): FenceVerdict {
    if (this.#running.size > 0) return 'fenced';
    const stale = this.#stale;
    if (stale === undefined || remote === undefined) return 'clear';
    const matches = same(stale, remote);
    if (matches === undefined) return 'clear';
    if (matches) return 'stale';
    this.#stale = undefined;
    this.#disarm();
    return 'clear';
  }

  /** Stops the timer (and what feeds the fence); no event counts after this. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#disarm();
    this.#running.clear();
    this.#stale = undefined;
    this.#source?.close();
  }

  #arm(): void {
    this.#disarm();
    this.#timer = setTimeout(this.#expire, this.#maxMs);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    this.#stale = undefined;
    if (this.#running.size === 0 || this.#stopped) return;
    this.#running.clear();
    this.#host.ended('expired');
  };
}

/**
 * A fence for `client` fed by every sentinel it knows (at most `sentinelMaxConnections`), or
 * `undefined` when it is not a Sentinel client of a primary.
 */
export function fenceFailovers(client: Redis, host: FenceHost): FailoverFence | undefined {
  const o = client.options as RedisOptions;
  const masterName = o.name;
  if (!Array.isArray(o.sentinels) || o.sentinels.length === 0 || !masterName) return undefined;
  if (o.role === 'slave') return undefined;
  return new FailoverFence({
    ...host,
    resolve: natResolver(o.natMap),
    subscribe: (event) =>
      subscribeToSentinels(o, FAILOVER_CHANNELS, (sentinel, channel, message) => {
        const found = parseFailoverEvent(channel, message, masterName);
        if (found !== undefined) event(sentinel, found);
      }),
  });
}

/** The address the client connects to for one the sentinels name (ioredis' `natMap`). */
function natResolver(natMap: RedisOptions['natMap']): (endpoint: Endpoint) => Endpoint {
  if (natMap === undefined || natMap === null) return (endpoint) => endpoint;
  return (endpoint) => {
    const key = `${endpoint.host}:${endpoint.port}`;
    const mapped =
      typeof natMap === 'function'
        ? (natMap as (key: string) => Partial<Endpoint> | null | undefined)(key)
        : (natMap as Record<string, Partial<Endpoint>>)[key];
    if (typeof mapped?.host !== 'string' || typeof mapped.port !== 'number') return endpoint;
    return { host: mapped.host, port: mapped.port };
  };
}

/** Whether two addresses are the same node; `undefined` when that cannot be told (a host name). */
function same(a: Endpoint, b: Endpoint): boolean | undefined {
  const ha = ipOf(a.host);
  const hb = ipOf(b.host);
  if (ha === undefined || hb === undefined) return undefined;
  return ha === hb && a.port === b.port;
}

function ipOf(host: string): string | undefined {
  const plain = host.startsWith('::ffff:') && isIP(host.slice(7)) === 4 ? host.slice(7) : host;
  return isIP(plain) === 0 ? undefined : plain.toLowerCase();
}
