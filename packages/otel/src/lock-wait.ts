import diagnostics_channel from 'node:diagnostics_channel';
import type { Histogram } from '@opentelemetry/api';
import { ATTRIBUTES, type Attributes } from './attributes.js';

/** The channel `@x/lock` publishes every settled acquisition on. */
const LOCK_ACQUIRE = 'x:lock:acquire';

/**
 * Records `x.lock.wait.duration` from `x:lock:acquire`: how long each acquisition took, by how it
 * ended (`acquired`, `contended`, `unavailable`).
 */
export class LockWait {
  readonly #histogram: Histogram;
  readonly #attributes = new Map<string, Attributes>();
  #subscribed = true;

  constructor(histogram: Histogram) {
    this.#histogram = histogram;
    diagnostics_channel.subscribe(LOCK_ACQUIRE, this.#listener);
  }

  /** Unsubscribes. Idempotent. */
  close(): void {
    if (!this.#subscribed) return;
    this.#subscribed = false;
    diagnostics_channel.unsubscribe(LOCK_ACQUIRE, this.#listener);
  }

  readonly #listener = (message: unknown): void => {
    const m = message as { waitMs?: unknown; outcome?: unknown } | null;
    const waitMs = m?.waitMs;
    if (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0) return;
    const outcome = typeof m?.outcome === 'string' ? m.outcome : 'unknown';
    let attributes = this.#attributes.get(outcome);
    if (attributes === undefined) {
      attributes = { [ATTRIBUTES.package]: '@x/lock', [ATTRIBUTES.outcome]: outcome };
      // The outcomes are a fixed set of three; anything else is not kept.
      if (this.#attributes.size < 16) this.#attributes.set(outcome, attributes);
    }
    this.#histogram.record(waitMs / 1000, attributes);
  };
}
