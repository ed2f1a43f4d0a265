import { randomBytes } from 'node:crypto';
import type { PubSub, Subscription } from '@x/pubsub';
import type { Logger } from './logger';

/** What travels over pub/sub: one thing that happened in some demo instance. */
export interface WireEvent {
  type: string;
  /** When it happened (ISO 8601). */
  at: string;
  /** Which demo process it came from (several instances can share one Redis). */
  instance: string;
  data: Record<string, unknown>;
}

/** An event as this instance delivered it: `seq` orders the events seen here (SSE `id`). */
export interface DemoEvent extends WireEvent {
  seq: number;
  /** `redis` when it arrived through pub/sub, `local` when it was delivered in-process only. */
  via: 'redis' | 'local';
}

/** Fans the demo's events out: through Redis pub/sub when configured, in-process otherwise. */
export interface EventBus {
  /** `redis` (pub/sub through Redis, local delivery while Redis is down) or `local` (no Redis). */
  readonly mode: 'redis' | 'local';
  /** This process' instance id. */
  readonly instance: string;
  /** Publishes an event. Never rejects: a failed publish is logged and delivered locally. */
  emit(type: string, data?: Record<string, unknown>): void;
  /** The most recent events seen by this instance, oldest first. */
  recent(): DemoEvent[];
  /** Calls `listener` for every event delivered from now on; returns the unsubscribe function. */
  listen(listener: (event: DemoEvent) => void): () => void;
  /** Resolves once the subscription is confirmed by Redis (or after `timeoutMs`). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): void;
}

/** Options of {@link createEventBus}. */
export interface EventBusOptions {
  /** The pub/sub to publish and subscribe through; without it delivery is in-process only. */
  pubsub?: PubSub<WireEvent> | undefined;
  /** @default 'x-demo:events' */
  channel?: string;
  /**
   * Events kept for the status page and for new SSE clients.
   * @default 50
   */
  recentSize?: number;
  logger: Logger;
}

/** Creates the event bus the SSE route and the status page read. */
export function createEventBus(options: EventBusOptions): EventBus {
  const { pubsub, logger } = options;
  const channel = options.channel ?? 'x-demo:events';
  const recentSize = options.recentSize ?? 50;
  const instance = randomBytes(4).toString('hex');
  const ring: DemoEvent[] = [];
  const listeners = new Set<(event: DemoEvent) => void>();
  let seq = 0;
  let closed = false;

  function deliver(event: WireEvent, via: DemoEvent['via']): void {
    if (closed) return;
    seq += 1;
    const delivered: DemoEvent = { ...event, seq, via };
    ring.push(delivered);
    if (ring.length > recentSize) ring.shift();
    for (const listener of listeners) {
      try {
        listener(delivered);
      } catch (error) {
        logger.error({ err: error }, 'event listener failed');
      }
    }
  }

  let subscription: Subscription<WireEvent> | undefined;
  if (pubsub) {
    subscription = pubsub.subscribe(channel, { bufferSize: 256, overflow: 'drop-oldest' });
    subscription.on('message', (message) => {
      const event = toWireEvent(message.data);
      // While the subscriber connection is down a message can only come from the pub/sub's
      // local delivery (this process published it while Redis was unavailable).
      if (event) deliver(event, pubsub.stats().connected ? 'redis' : 'local');
      else logger.warn({ channel }, 'ignored a malformed event from pub/sub');
    });
    subscription.on('gap', (info) => {
      // Events published while the subscriber was away are lost: say so in the stream itself.
      deliver(
        {
          type: 'pubsub.gap',
          at: new Date().toISOString(),
          instance,
          data: { downtimeMs: info.downtimeMs, reason: info.reason },
        },
        'local',
      );
    });
    subscription.on('malformed', () => logger.warn({ channel }, 'malformed pub/sub payload'));
    subscription.on('error', (error) => logger.warn({ err: error }, 'pub/sub subscription error'));
  }

  return {
    mode: pubsub ? 'redis' : 'local',
    instance,
    emit(type, data = {}) {
      if (closed) return;
      const event: WireEvent = { type, at: new Date().toISOString(), instance, data };
      if (!pubsub) {
        deliver(event, 'local');
        return;
      }
      // With `fallback: 'local'` the pub/sub itself delivers to this process while Redis is down.
      // Redis up but nobody subscribed (our subscriber is still re-subscribing after an outage,
      // exactly when `recover` is emitted): Redis drops the message, so deliver it here. Any
      // other failure (closed, codec) also still reaches the local stream.
      pubsub.publish(channel, event).then(
        (receivers) => {
          if (receivers === 0) deliver(event, 'local');
        },
        (error: unknown) => {
          logger.warn({ err: error, type }, 'event publish failed; delivered locally');
          deliver(event, 'local');
        },
      );
    },
    recent: () => ring.slice(),
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async ready(timeoutMs) {
      if (!subscription) return true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(resolve, timeoutMs, false);
        timer.unref();
      });
      try {
        return await Promise.race([subscription.ready.then(yes, no), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      closed = true;
      listeners.clear();
      subscription?.close();
    },
  };
}

const yes = (): boolean => true;
const no = (): boolean => false;

function toWireEvent(value: unknown): WireEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<WireEvent>;
  if (typeof v.type !== 'string' || typeof v.at !== 'string' || typeof v.instance !== 'string') {
    return undefined;
  }
  const data = typeof v.data === 'object' && v.data !== null ? v.data : {};
  return { type: v.type, at: v.at, instance: v.instance, data };
}
