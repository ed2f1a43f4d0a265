import { globMatch } from './_internal/glob.js';
import type { Subscription } from './subscription.js';

/** `'c'`: channels (SUBSCRIBE, or SSUBSCRIBE when sharded); `'p'`: patterns (PSUBSCRIBE). */
export type TargetKind = 'c' | 'p';

type AnySubscription = Subscription<any>;

interface Entry {
  /** The subscriptions that listen to this channel or pattern. */
  readonly subs: Set<AnySubscription>;
  /** `true` once Redis confirmed it on the current subscriber connection. */
  active: boolean;
  /** Subscriptions whose confirmation waits for this entry. */
  waiting: Set<AnySubscription> | undefined;
}

/**
 * The channels and patterns subscribed on Redis, each with the subscriptions that listen to it and
 * whether Redis confirmed it on the current subscriber connection. One entry per name, however
 * many subscriptions share it: Redis is subscribed once, and unsubscribed when the last one leaves.
 */
export class Registry {
  readonly #channels = new Map<string, Entry>();
  readonly #patterns = new Map<string, Entry>();

  /** Channels subscribed now. */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** Patterns subscribed now. */
  get patternCount(): number {
    return this.#patterns.size;
  }

  /** Registers `subscription` for `names`; returns the names that are new (to send to Redis). */
  attach(kind: TargetKind, names: readonly string[], subscription: AnySubscription): string[] {
    const map = this.#map(kind);
    const fresh: string[] = [];
    for (const name of names) {
      let entry = map.get(name);
      if (entry === undefined) {
        entry = { subs: new Set(), active: false, waiting: undefined };
        map.set(name, entry);
        fresh.push(name);
      }
      entry.subs.add(subscription);
    }
    return fresh;
  }

  /** Unregisters `subscription` from `names`; returns the names nobody listens to any more. */
  detach(kind: TargetKind, names: readonly string[], subscription: AnySubscription): string[] {
    const map = this.#map(kind);
    const gone: string[] = [];
    for (const name of names) {
      const entry = map.get(name);
      if (entry === undefined) continue;
      entry.subs.delete(subscription);
      entry.waiting?.delete(subscription);
      if (entry.subs.size === 0) {
        map.delete(name);
        gone.push(name);
      }
    }
    return gone;
  }

  /** Every name of `kind`. */
  names(kind: TargetKind): string[] {
    return [...this.#map(kind).keys()];
  }

  /** The names of `kind` not confirmed on the current connection. */
  inactive(kind: TargetKind): string[] {
    const names: string[] = [];
    for (const [name, entry] of this.#map(kind)) if (!entry.active) names.push(name);
    return names;
  }

  /** The subscriber connection was lost: nothing is confirmed on the next one yet. */
  deactivate(): void {
    for (const entry of this.#channels.values()) entry.active = false;
    for (const entry of this.#patterns.values()) entry.active = false;
  }

  /**
   * Redis confirmed `names`: marks them active and returns the subscriptions waiting for them
   * (check them with {@link Registry.confirmed}).
   */
  confirm(kind: TargetKind, names: readonly string[]): AnySubscription[] {
    const map = this.#map(kind);
    const waiting: AnySubscription[] = [];
    for (const name of names) {
      const entry = map.get(name);
      if (entry === undefined) continue;
      entry.active = true;
      if (entry.waiting !== undefined) waiting.push(...entry.waiting);
      entry.waiting = undefined;
    }
    return waiting;
  }

  /** The subscriptions listening to `names` (e.g. to tell them Redis refused them). */
  listeners(kind: TargetKind, names: readonly string[]): Set<AnySubscription> {
    const map = this.#map(kind);
    const found = new Set<AnySubscription>();
    for (const name of names) for (const s of map.get(name)?.subs ?? []) found.add(s);
    return found;
  }

  /**
   * Whether Redis confirmed every channel and pattern of `subscription`. When not, it is put on
   * the waiting list of each missing one, so that {@link Registry.confirm} returns it again.
   */
  confirmed(subscription: AnySubscription): boolean {
    let all = true;
    for (const [map, names] of [
      [this.#channels, subscription.channels],
      [this.#patterns, subscription.patterns],
    ] as const) {
      for (const name of names) {
        const entry = map.get(name);
        if (entry === undefined || entry.active) continue;
        entry.waiting ??= new Set();
        entry.waiting.add(subscription);
        all = false;
      }
    }
    return all;
  }

  /** The subscriptions of a channel (a message from Redis). */
  ofChannel(channel: string): Set<AnySubscription> | undefined {
    return this.#channels.get(channel)?.subs;
  }

  /** The subscriptions of a pattern (a message from Redis that matched it). */
  ofPattern(pattern: string): Set<AnySubscription> | undefined {
    return this.#patterns.get(pattern)?.subs;
  }

  /** Every subscription a message on `channel` reaches, by name or by pattern (local delivery). */
  matching(channel: string): Set<AnySubscription> {
    const all = new Set<AnySubscription>(this.#channels.get(channel)?.subs);
    for (const [pattern, entry] of this.#patterns) {
      if (globMatch(pattern, channel)) for (const s of entry.subs) all.add(s);
    }
    return all;
  }

  #map(kind: TargetKind): Map<string, Entry> {
    return kind === 'c' ? this.#channels : this.#patterns;
  }
}
