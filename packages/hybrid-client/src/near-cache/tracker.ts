import type { Redis } from 'ioredis';

/** The channel Redis delivers invalidations on to a RESP2 connection named in `REDIRECT`. */
export const INVALIDATE_CHANNEL = '__redis__:invalidate';

/** How tracking is asked for. */
export interface TrackingSpec {
  /** `'default'`: Redis remembers the keys each read touched; `'broadcast'`: every key under `prefixes`. */
  mode: 'default' | 'broadcast';
  /** Broadcast prefixes as the server sees them (ioredis' `keyPrefix` already in front). */
  prefixes: readonly string[];
  /**
   * `NOLOOP`: no invalidation for the data connection's own writes. Only for a connection whose
   * every write goes through this package (a client it created), which drops the copies of what
   * it writes before sending: a write by someone else on a shared connection would then never
   * invalidate anything.
   */
  noLoop: boolean;
  /** See the lease of {@link Tracker}, ms. */
  leaseMs: number;
  /** `OPTIN`: only reads announced with `CLIENT CACHING YES` are tracked (default mode only). */
  optIn: boolean;
}

/** What a tracker tells the near cache. */
export interface TrackerSink {
  /** Keys (as the server names them) whose copies are no longer valid; `null`: FLUSHALL / FLUSHDB. */
  invalidated(keys: readonly Buffer[] | null): void;
  /** Tracking was established or lost, or delivery held up or back (read {@link Tracker.tracking}, {@link Tracker.delivering}). */
  changed(): void;
  /** Setting tracking up failed with `error` while both connections were up (it is retried). */
  failed(error: unknown): void;
  /** A PING was answered: the lease now runs until {@link Tracker.leaseEnd}. */
  renewed(): void;
}

/**
 * Runs a setup command under the connection's guard (deadline and breaker): the tracker never
 * waits on a frozen server longer than a call would.
 */
export type GuardedRun = <T>(fn: () => Promise<T>) => Promise<T>;

/** Reads `CLIENT LIST ID <id>` for the connection name (RESP2 text or RESP3 verbatim string). */
function nameIn(reply: unknown): string | undefined {
  const text = Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply);
  return / name=(\S*)/.exec(text)?.[1];
}

function noop(): void {}
const now = (): number => performance.now();

/**
 * One tracked pair of connections to one server: the data connection, whose reads Redis tracks
 * (`CLIENT TRACKING ON REDIRECT <id>`), and the invalidation connection `<id>` (RESP2, subscribed
 * to `__redis__:invalidate`) that receives what Redis invalidates. RESP2 on purpose: ioredis 6
 * drops RESP3 `invalidate` pushes, while a RESP2 connection named in `REDIRECT` receives them as
 * ordinary `message`s, on ioredis 5 and 6 alike, whatever protocol the data connection speaks.
 *
 * Tracking holds only while both connections stay up: Redis forgets a connection's tracking when
 * it closes, and stops delivering when the redirect target closes. So {@link tracking} turns false
 * on a `close` of either side (the sink is told at once: copies stop counting as fresh), and the
 * tracker sets tracking up again on every `ready` of either side: a new `CLIENT ID`, a new
 * subscription, and on the data connection `CLIENT TRACKING OFF` then `ON REDIRECT <new id>`.
 * Before that, it checks with `CLIENT LIST ID <id>` on the data connection that `<id>` is its own
 * invalidation connection on the same server (after a Sentinel failover the two connections may
 * briefly point at two servers, where the same id may name somebody else's connection).
 *
 * **The lease.** A connection that stays open can still stop delivering (a network path that
 * holds packets, a proxy that stalls): invalidations would then wait while copies are served. So
 * the tracker sends a `PING` on the invalidation connection every `leaseMs / 3` (`TrackingSpec`); its `PONG` comes
 * after every invalidation Redis sent before it, so when it arrives every write Redis applied
 * before the PING was sent has been delivered. When no PING sent within the last `leaseMs` has
 * been answered, {@link delivering} turns false until one is: a copy is never served more than
 * about `leaseMs` (plus one beat) after a write whose invalidation is held up on the way. This is
 * not a health check (it never says whether Redis is usable): it bounds how stale a copy can be.
 * Tracking itself still holds then, and so do the copies: TCP delivers what was held up, in
 * order, before the `PONG` that ends the wait, and each invalidation voids its copy as it comes.
 * So a stalled event loop (a long garbage collection, a synchronous task) that outlives the lease
 * pauses the copies for a round trip instead of voiding every one of them.
 */
export class Tracker {
  readonly data: Redis;
  readonly invalidation: Redis;
  readonly #name: string;
  readonly #spec: TrackingSpec;
  readonly #run: GuardedRun;
  readonly #sink: TrackerSink;
  readonly #retryMs: number;
  readonly #reconnectOnMismatch: boolean;
  readonly #leaseMs: number;
  #heartbeat: NodeJS.Timeout | undefined;
  #pinging = false;
  // performance.now() when the newest answered PING was sent (or tracking was set up).
  #confirmed = 0;
  // False while the lease has run out (tracking holds on the server): true again once a PING is
  // answered in time.
  #delivering = true;
  #tracking = false;
  // Bumped by every close of either side: a setup that saw another value is void.
  #generation = 0;
  #setting = false;
  #again = false;
  // The id of the invalidation connection and whether it is subscribed (per connection: reset on close).
  #id: string | undefined;
  #subscribed = false;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** Setups that completed (tracking established), for tests and stats. */
  established = 0;
  /** The last setup failure, for diagnosis. */
  lastError: unknown;

  /**
   * @param name the connection name of `invalidation` (unique: it is how the data connection's
   *   server proves `<id>` is ours)
   * @param retryMs how long to wait before trying again after a failed setup
   * @param reconnectOnMismatch when the two connections turn out to be on two servers, reconnect
   *   the invalidation connection (a Sentinel client then asks the sentinels for the primary again)
   */
  constructor(
    data: Redis,
    invalidation: Redis,
    name: string,
    spec: TrackingSpec,
    run: GuardedRun,
    sink: TrackerSink,
    retryMs: number,
    reconnectOnMismatch = false,
  ) {
    this.#reconnectOnMismatch = reconnectOnMismatch;
    this.#leaseMs = spec.leaseMs;
    this.data = data;
    this.invalidation = invalidation;
    this.#name = name;
    this.#spec = spec;
    this.#run = run;
    this.#sink = sink;
    this.#retryMs = retryMs;
  }

  /** True while Redis tracks the data connection's reads and delivers to the invalidation connection. */
  get tracking(): boolean {
    return this.#tracking;
  }

  /**
   * False while the lease has run out: invalidations may be held up on the way, so copies must
   * not be served, though they stay valid (see the lease above). Meaningful while {@link tracking}.
   */
  get delivering(): boolean {
    return this.#delivering;
  }

  /**
   * Until when (`performance.now()`) a copy may be served without a newer confirmation of
   * delivery: `leaseMs` after the newest answered PING was sent. Checked by every hit too, so
   * the bound holds right after a stall of the event loop, before the heartbeat could run.
   */
  get leaseEnd(): number {
    return this.#confirmed + this.#leaseMs;
  }

  /** Listens to both connections and sets tracking up as soon as both are ready. */
  start(): void {
    this.data.on('close', this.#onDataClose);
    this.data.on('ready', this.#kick);
    const inv = this.invalidation;
    inv.on('close', this.#onInvalidationClose);
    inv.on('ready', this.#kick);
    inv.on('messageBuffer', this.#onMessage);
    // Cluster node connections are lazy: nothing connects them until a command is sent.
    if (this.data.status === 'wait') this.data.connect().catch(noop);
    if (inv.status === 'wait') inv.connect().catch(noop);
    this.#heartbeat = setInterval(this.#beat, Math.max(10, Math.round(this.#leaseMs / 3)));
    this.#heartbeat.unref();
    this.#kick();
  }

  /** Stops listening (the connections belong to the caller); tracking counts as lost. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.data.off('close', this.#onDataClose);
    this.data.off('ready', this.#kick);
    const inv = this.invalidation;
    inv.off('close', this.#onInvalidationClose);
    inv.off('ready', this.#kick);
    inv.off('messageBuffer', this.#onMessage);
    this.#lost();
  }

  // The connection subscribes to nothing else: the channel need not be read (no string per message).
  readonly #onMessage = (_channel: Buffer | string, message: unknown): void => {
    // RESP2: an array of keys, or a null payload for FLUSHALL / FLUSHDB.
    if (message === null || message === undefined) this.#sink.invalidated(null);
    else if (Array.isArray(message)) this.#sink.invalidated(message as Buffer[]);
    else if (Buffer.isBuffer(message)) this.#sink.invalidated([message]);
  };

  readonly #onDataClose = (): void => {
    this.#lost();
  };

  readonly #onInvalidationClose = (): void => {
    this.#id = undefined;
    this.#subscribed = false;
    this.#lost();
  };

  #lost(): void {
    this.#generation++;
    this.#delivering = true;
    if (!this.#tracking) return;
    this.#tracking = false;
    this.#sink.changed();
  }

  readonly #kick = (): void => {
    if (this.#closed) return;
    if (this.#setting) {
      this.#again = true;
      return;
    }
    if (this.#tracking) return;
    if (this.data.status !== 'ready' || this.invalidation.status !== 'ready') return;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#setting = true;
    this.#again = false;
    this.#setUp(this.#generation).then(
      (ok) => this.#settled(ok, undefined),
      (error: unknown) => this.#settled(false, error),
    );
  };

  #settled(ok: boolean, error: unknown): void {
    this.#setting = false;
    if (this.#closed) return;
    if (ok) {
      this.established++;
      this.#confirmed = now();
      this.#delivering = true;
      this.#tracking = true;
      this.#sink.changed();
      return;
    }
    if (error !== undefined) {
      this.lastError = error;
      this.#sink.failed(error);
    }
    if (this.#again) {
      this.#kick();
      return;
    }
    // Both still up but the setup failed (a timeout, the other server after a failover...).
    if (this.data.status === 'ready' && this.invalidation.status === 'ready') {
      this.#retry ??= setTimeout(this.#onRetry, this.#retryMs);
      this.#retry.unref();
    }
  }

  /** One beat of the lease: expire it when due, and keep one PING in flight. */
  readonly #beat = (): void => {
    const t = now();
    if (this.#tracking && this.#delivering && t - this.#confirmed > this.#leaseMs) {
      this.#delivering = false;
      this.#sink.changed();
    }
    const inv = this.invalidation;
    if (this.#pinging || !this.#subscribed || inv.status !== 'ready') return;
    this.#pinging = true;
    const generation = this.#generation;
    inv.ping().then(
      () => {
        this.#pinging = false;
        if (this.#closed || generation !== this.#generation) return;
        this.#confirmed = t;
        // Answered in time again: every invalidation sent before the PING has arrived.
        if (!this.#delivering && now() - t <= this.#leaseMs) {
          this.#delivering = true;
          this.#sink.changed();
        }
        this.#sink.renewed();
      },
      () => {
        this.#pinging = false;
      },
    );
  };

  readonly #onRetry = (): void => {
    this.#retry = undefined;
    this.#kick();
  };

  /** Resolves true when tracking is established and nothing closed meanwhile. */
  async #setUp(generation: number): Promise<boolean> {
    const inv = this.invalidation;
    const data = this.data;
    const run = this.#run;
    if (this.#id === undefined) {
      // Asked before subscribing: a RESP2 connection in subscriber mode takes no CLIENT command.
      const id = await run(() => inv.client('ID'));
      if (generation !== this.#generation) return false;
      this.#id = String(id);
    }
    const id = this.#id;
    if (!this.#subscribed) {
      await run(() => inv.subscribe(INVALIDATE_CHANNEL));
      if (generation !== this.#generation) return false;
      this.#subscribed = true;
    }
    const name = nameIn(await run(() => data.call('CLIENT', 'LIST', 'ID', id)));
    if (generation !== this.#generation) return false;
    if (name !== this.#name) {
      if (this.#reconnectOnMismatch) inv.disconnect(true);
      throw new Error(
        `CLIENT LIST ID ${id} on the data connection names ${name === undefined ? 'no connection' : `"${name}"`}: the invalidation connection is on another server`,
      );
    }
    const args: (string | number)[] = ['TRACKING', 'ON', 'REDIRECT', id];
    if (this.#spec.mode === 'broadcast') {
      args.push('BCAST');
      for (const prefix of this.#spec.prefixes) args.push('PREFIX', prefix);
    }
    if (this.#spec.noLoop) args.push('NOLOOP');
    if (this.#spec.optIn) args.push('OPTIN');
    // OFF first: a connection already tracking (an earlier redirect, other prefixes) could refuse
    // the new ON. Both in one write, so nothing the client sends falls between them.
    const off = run(() => data.call('CLIENT', 'TRACKING', 'OFF'));
    const on = run(() => data.call('CLIENT', ...args));
    off.catch(noop);
    await on;
    await off;
    return generation === this.#generation && data.status === 'ready' && inv.status === 'ready';
  }
}
