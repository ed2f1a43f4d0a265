import { EventEmitter } from 'node:events';
import { RingBuffer } from './_internal/ring-buffer.js';
import { dropChannel } from './channels.js';
import { PubSubClosedError, SubscriptionOverflowError } from './errors.js';

/** A received message. */
export interface Message<T = unknown> {
  /** The channel the message was published to. */
  readonly channel: string;
  /** The pattern that matched, when the message came through a pattern subscription. */
  readonly pattern?: string;
  /** The decoded payload. */
  readonly data: T;
}

/**
 * What a subscription does when a message arrives and its buffer already holds `bufferSize`
 * messages: `'drop-oldest'` discards the oldest buffered message, `'drop-newest'` discards the
 * incoming one, `'error'` ends the subscription with a `SubscriptionOverflowError` (delivered to
 * the iterator after the buffered messages, and to `'error'` listeners).
 */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

/** Options of `pubsub.subscribe()`. */
export interface SubscribeOptions {
  /**
   * Most messages held for the async iterator; the buffer never grows past it.
   * @default 100
   */
  bufferSize?: number;
  /**
   * What to do when the buffer is full.
   * @default 'drop-oldest'
   */
  overflow?: OverflowPolicy;
  /** Aborting it closes the subscription and ends the iterator. */
  signal?: AbortSignal;
  /**
   * While drops continue without the reader catching up, a `'drop'` report is emitted at most
   * this often (a burst also ends, and is reported, when the buffer drains to half or on close).
   * @default 1000
   */
  dropReportIntervalMs?: number;
}

/** Counters of one subscription. `received = delivered + dropped + buffered`. */
export interface SubscriptionStats {
  /** Messages accepted from Redis (after decoding). */
  received: number;
  /** Messages handed to the iterator or to `'message'` listeners. */
  delivered: number;
  /** Messages discarded by the overflow policy. */
  dropped: number;
  /** Payloads the codec rejected. */
  malformed: number;
  /** Messages waiting in the buffer now (never more than `bufferSize`). */
  buffered: number;
  /** Reconnects seen (each one emitted a `'gap'`). */
  gaps: number;
}

/** Payload of the `'drop'` event: one report per burst of drops. */
export interface DropReport {
  /** Messages dropped in this burst. */
  dropped: number;
  /** Messages dropped since the subscription started. */
  total: number;
  /** The overflow policy that dropped them. */
  policy: OverflowPolicy;
  /** Channel of the last message dropped. */
  channel: string;
}

/** Payload of the `'malformed'` event. */
export interface MalformedReport {
  readonly channel: string;
  readonly pattern?: string;
  /** The raw payload as received. */
  readonly payload: Buffer;
  /** What the codec threw. */
  readonly error: unknown;
}

/** Why the subscriber connection was lost (see {@link GapInfo}). */
export type GapReason =
  | 'connection-closed'
  | 'ping-timeout'
  | 'cluster-node-lost'
  | 'cluster-topology-change';

/** Payload of the `'gap'` event: the subscriber connection was lost and is subscribed again. */
export interface GapInfo {
  /** When the connection was found lost (epoch ms). */
  readonly since: number;
  /** How long it was down, in ms. Messages published meanwhile may be lost. */
  readonly downtimeMs: number;
  /** Why it was lost. */
  readonly reason: GapReason;
}

/** Events of a subscription. */
export interface SubscriptionEvents<T> {
  /** Every message, as it arrives (listeners take messages off the buffer; see README). */
  message: [message: Message<T>];
  /**
   * The connection was lost after Redis had confirmed this subscription, and Redis confirmed it
   * again: messages published meanwhile may be missing, resync if that matters. Once per loss.
   */
  gap: [info: GapInfo];
  /**
   * Redis confirmed every channel and pattern **after `ready` had rejected** (Redis was
   * unreachable, frozen or misconfigured past the deadline): messages are delivered from now on.
   * Emitted once; a later loss is reported by `gap`.
   */
  subscribed: [];
  /** A burst of drops ended (or lasted `dropReportIntervalMs`). */
  drop: [report: DropReport];
  /** A payload the codec could not decode; the subscription goes on. */
  malformed: [report: MalformedReport];
  /**
   * Redis refused a subscribe command (`SubscribeError`), a listener threw, or the buffer
   * overflowed with `'error'`. Not emitted when Redis is merely unreachable (`ready` rejects).
   */
  error: [error: unknown];
  /** The subscription ended. */
  close: [];
}

/** @internal What a subscription needs from the pub/sub that created it. */
export interface SubscriptionHost {
  /** The subscription no longer wants these channels and patterns. */
  detach(
    subscription: Subscription<any>,
    channels: readonly string[],
    patterns: readonly string[],
  ): void;
  /** Counters of the pub/sub, summed over its subscriptions (monotonic). */
  readonly totals: { delivered: number; dropped: number };
}

interface Waiter<T> {
  resolve(result: IteratorResult<Message<T>>): void;
  reject(error: unknown): void;
}

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true }) as never;

/**
 * A live subscription: an async iterator of messages (`for await`) and an event emitter
 * (`'message' | 'gap' | 'drop' | 'malformed' | 'error' | 'close'`). Created by
 * `pubsub.subscribe()`; end it with `close()`, by unsubscribing its last channel, or through
 * its `signal`.
 */
export class Subscription<T = unknown>
  extends EventEmitter<SubscriptionEvents<T>>
  implements AsyncIterableIterator<Message<T>>
{
  /**
   * Resolves once Redis confirmed every channel and pattern of this subscription: messages
   * published after that are delivered. Always settles within the pub/sub's `timeoutMs`:
   *
   * - rejects with `PubSubUnavailableError` (`E_PUBSUB_UNAVAILABLE`, with the connection's
   *   `problem`) when Redis did not confirm in time (refused, frozen), and at once when the
   *   connection found a misconfiguration (wrong password, TLS mismatch...). The subscription stays
   *   open and keeps trying: its iterator keeps waiting (it neither ends nor throws), and once
   *   Redis confirms, `'subscribed'` is emitted and messages flow. No `'gap'` is emitted for that
   *   first outage (nothing had been received to have a gap in); losses after it get one each;
   * - rejects with `SubscribeError` (`E_PUBSUB_SUBSCRIBE`) when Redis refused a channel (ACL);
   * - rejects with `PubSubClosedError` (`E_PUBSUB_CLOSED`) when closed before any of that.
   */
  readonly ready: Promise<void>;

  #host: SubscriptionHost;
  #channels: Set<string>;
  #patterns: Set<string>;
  #buffer: RingBuffer<Message<T>>;
  #policy: OverflowPolicy;
  #reportEveryMs: number;
  #signal: AbortSignal | undefined;
  #waiters: Waiter<T>[] = [];
  #iterating = false;
  #closed = false;
  #failure: unknown = undefined;
  #burst = 0;
  #burstStart = 0;
  #lastDropChannel = '';
  #received = 0;
  #delivered = 0;
  #dropped = 0;
  #malformed = 0;
  #gaps = 0;
  /** `'pending'` until `ready` settles. */
  #readyState: 'pending' | 'resolved' | 'rejected' = 'pending';
  /** Redis confirmed every target at least once: a later loss is a gap. */
  #live = false;
  /** The connection was lost while live; the next `_gap` is for this subscription. */
  #lost = false;
  #settleReady!: (error?: unknown) => void;
  #onAbort = (): void => this.close();

  /** @internal Use `pubsub.subscribe()`. */
  constructor(
    host: SubscriptionHost,
    channels: readonly string[],
    patterns: readonly string[],
    options: Required<Omit<SubscribeOptions, 'signal'>> & { signal?: AbortSignal },
  ) {
    super();
    this.#host = host;
    this.#channels = new Set(channels);
    this.#patterns = new Set(patterns);
    this.#buffer = new RingBuffer(options.bufferSize);
    this.#policy = options.overflow;
    this.#reportEveryMs = options.dropReportIntervalMs;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#settleReady = (error?: unknown) => {
        if (this.#readyState !== 'pending') return;
        this.#readyState = error === undefined ? 'resolved' : 'rejected';
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    // Nobody has to await `ready`: a rejection nobody asked for must not be unhandled.
    this.ready.catch(noop);
    this.#signal = options.signal;
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Channels this subscription listens to (exact names). */
  get channels(): readonly string[] {
    return [...this.#channels];
  }

  /** Patterns this subscription listens to. */
  get patterns(): readonly string[] {
    return [...this.#patterns];
  }

  /** Whether the subscription has ended (no more messages will be accepted). */
  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  stats(): SubscriptionStats {
    return {
      received: this.#received,
      delivered: this.#delivered,
      dropped: this.#dropped,
      malformed: this.#malformed,
      buffered: this.#buffer.length,
      gaps: this.#gaps,
    };
  }

  /**
   * Stops listening to the given channels or patterns (as passed to `subscribe`). Unsubscribing
   * the last one closes the subscription. Unknown names are ignored.
   */
  unsubscribe(...targets: string[]): void {
    if (this.#closed) return;
    const channels: string[] = [];
    const patterns: string[] = [];
    for (const target of targets.flat()) {
      if (this.#channels.delete(target)) channels.push(target);
      else if (this.#patterns.delete(target)) patterns.push(target);
    }
    if (channels.length + patterns.length > 0) this.#host.detach(this, channels, patterns);
    if (this.#channels.size + this.#patterns.size === 0) this.close();
  }

  /** Ends the subscription: drops buffered messages, ends the iterator, emits `'close'`. */
  close(): void {
    if (this.#closed) {
      this.#finishWaiters();
      return;
    }
    this.#shutdown();
    this.#buffer.clear();
    this.#failure = undefined;
    this.#finishWaiters();
  }

  /** Same as `close()`, for `using sub = pubsub.subscribe(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncIterator](): this {
    this.#iterating = true;
    return this;
  }

  /** Next message; resolves `done` once the subscription is closed and drained. */
  next(): Promise<IteratorResult<Message<T>>> {
    this.#iterating = true;
    const message = this.#buffer.shift();
    if (message !== undefined) {
      this.#delivered++;
      this.#host.totals.delivered++;
      if (this.#burst > 0 && this.#buffer.length <= this.#buffer.capacity >>> 1)
        this.#reportDrops();
      return Promise.resolve({ value: message, done: false });
    }
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    if (this.#closed) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Called by `break` in a `for await` loop: closes the subscription. */
  return(): Promise<IteratorResult<Message<T>>> {
    this.close();
    return Promise.resolve(DONE);
  }

  /** @internal A decoded message for one of this subscription's channels or patterns. */
  _deliver(message: Message<T>): void {
    if (this.#closed) return;
    this.#received++;
    const listened = this.listenerCount('message') > 0;
    if (listened) {
      try {
        this.emit('message', message);
      } catch (error) {
        this._error(error);
      }
      if (!this.#iterating) {
        this.#delivered++;
        this.#host.totals.delivered++;
        return;
      }
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#delivered++;
      this.#host.totals.delivered++;
      waiter.resolve({ value: message, done: false });
      return;
    }
    if (!this.#buffer.full) {
      this.#buffer.push(message);
      return;
    }
    this.#dropped++;
    this.#host.totals.dropped++;
    this.#lastDropChannel = message.channel;
    if (this.#policy === 'drop-oldest') {
      this.#buffer.shift();
      this.#buffer.push(message);
    } else if (this.#policy === 'error') {
      const error = new SubscriptionOverflowError(this.#buffer.capacity, message.channel);
      this.#failure = error;
      this.#burst++;
      this._error(error, false);
      // Keep the buffered messages for the reader; the error follows them.
      this.#shutdown();
      return;
    }
    const now = Date.now();
    if (this.#burst === 0) this.#burstStart = now;
    this.#burst++;
    if (now - this.#burstStart >= this.#reportEveryMs) this.#reportDrops();
  }

  /** @internal A payload the codec rejected. */
  _malformed(report: MalformedReport): void {
    if (this.#closed) return;
    this.#malformed++;
    if (this.listenerCount('malformed') > 0) {
      try {
        this.emit('malformed', report);
      } catch (error) {
        this._error(error);
      }
    }
  }

  /** @internal The subscriber connection was found lost. */
  _lost(): void {
    if (this.#live) this.#lost = true;
  }

  /** @internal The connection came back after a loss: a gap if this subscription was live then. */
  _gap(info: GapInfo): void {
    if (this.#closed || !this.#lost) return;
    this.#lost = false;
    this.#gaps++;
    try {
      this.emit('gap', info);
    } catch (error) {
      this._error(error);
    }
  }

  /** @internal Redis confirmed every channel and pattern of this subscription. */
  _confirm(): void {
    if (this.#closed || this.#live) return;
    this.#live = true;
    if (this.#readyState === 'pending') {
      this.#settleReady();
      return;
    }
    try {
      this.emit('subscribed');
    } catch (error) {
      this._error(error);
    }
  }

  /** @internal Redis did not confirm in time (or is misconfigured): `ready` rejects, no event. */
  _unavailable(error: unknown): void {
    if (!this.#live) this.#settleReady(error);
  }

  /** @internal Redis refused a channel or pattern: `ready` rejects and `'error'` is emitted. */
  _refused(error: unknown): void {
    this.#settleReady(error);
    this._error(error);
  }

  /** @internal Reports an error to `'error'` listeners, or (`warn`) as a process warning. */
  _error(error: unknown, warn = true): void {
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', error);
        return;
      } catch {
        // An 'error' listener that throws falls through to the warning below.
      }
    }
    if (warn)
      process.emitWarning(error instanceof Error ? error : String(error), {
        code: 'X_PUBSUB_SUBSCRIPTION',
      });
  }

  #shutdown(): void {
    this.#closed = true;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    const channels = [...this.#channels];
    const patterns = [...this.#patterns];
    this.#channels.clear();
    this.#patterns.clear();
    if (channels.length + patterns.length > 0) this.#host.detach(this, channels, patterns);
    this.#settleReady(new PubSubClosedError('subscription'));
    if (this.#burst > 0) this.#reportDrops();
    this.#finishWaiters();
    try {
      this.emit('close');
    } catch (error) {
      this._error(error);
    }
  }

  #finishWaiters(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (this.#failure !== undefined) {
        waiter.reject(this.#failure);
        this.#failure = undefined;
      } else waiter.resolve(DONE);
    }
  }

  #reportDrops(): void {
    const report: DropReport = {
      dropped: this.#burst,
      total: this.#dropped,
      policy: this.#policy,
      channel: this.#lastDropChannel,
    };
    this.#burst = 0;
    if (dropChannel.hasSubscribers) {
      dropChannel.publish({ overflow: report.policy, count: report.dropped });
    }
    if (this.listenerCount('drop') > 0) {
      try {
        this.emit('drop', report);
      } catch (error) {
        this._error(error);
      }
    }
  }
}

function noop(): void {}
