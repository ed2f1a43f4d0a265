import { globMatch } from './_internal/glob.js';
import type { Codec } from './codec.js';
import type { Registry } from './registry.js';
import type { Message, Subscription } from './subscription.js';

type AnySubscription = Subscription<any>;

/**
 * Decodes each received payload once and fans it out to the subscriptions it reaches. A payload
 * the codec rejects is counted and reported to those subscriptions (`malformed`), never thrown.
 */
export class Dispatcher<T> {
  /** Messages received from Redis (before fan-out). */
  received = 0;
  /** Received payloads the codec rejected. */
  malformed = 0;
  readonly #registry: Registry;
  readonly #codec: Codec<T>;

  constructor(registry: Registry, codec: Codec<T>) {
    this.#registry = registry;
    this.#codec = codec;
  }

  /** A message from Redis on `channel`, through `pattern` when a pattern subscription matched. */
  fromRedis(channel: string, pattern: string | undefined, payload: Buffer): void {
    this.received++;
    const targets =
      pattern === undefined ? this.#registry.ofChannel(channel) : this.#registry.ofPattern(pattern);
    if (targets === undefined || targets.size === 0) return;
    const decoded = this.#decode(targets, channel, pattern, payload);
    if (decoded === MALFORMED) return;
    const message: Message<T> =
      pattern === undefined
        ? { channel, data: decoded as T }
        : { channel, pattern, data: decoded as T };
    for (const s of targets) s._deliver(message);
  }

  /**
   * A message published while Redis is unavailable, delivered to this process' own matching
   * subscriptions as Redis would (once per matching channel and pattern). Returns the number of
   * subscriptions reached.
   */
  local(channel: string, payload: Buffer): number {
    const targets = this.#registry.matching(channel);
    if (targets.size === 0) return 0;
    const decoded = this.#decode(targets, channel, undefined, payload);
    if (decoded === MALFORMED) return 0;
    const data = decoded as T;
    for (const s of targets) {
      if (s.channels.includes(channel)) s._deliver({ channel, data });
      const pattern = s.patterns.find((candidate) => globMatch(candidate, channel));
      if (pattern !== undefined) s._deliver({ channel, pattern, data });
    }
    return targets.size;
  }

  #decode(
    targets: Iterable<AnySubscription>,
    channel: string,
    pattern: string | undefined,
    payload: Buffer,
  ): T | typeof MALFORMED {
    try {
      return this.#codec.decode(payload);
    } catch (error) {
      this.malformed++;
      const report =
        pattern === undefined ? { channel, payload, error } : { channel, pattern, payload, error };
      for (const s of targets) s._malformed(report);
      return MALFORMED;
    }
  }
}

const MALFORMED: unique symbol = Symbol('malformed');
