import diagnostics_channel from 'node:diagnostics_channel';
import { INSTANCES_CHANNEL, type InstanceMessage, openInstances } from '@x/connection';
import { ATTRIBUTES, type Attributes } from './attributes.js';

/** An instance announced on `x:instances`, with the attributes its metrics carry. */
export interface Observed {
  readonly instance: { stats(): unknown };
  readonly package: string;
  /** `x.package`, and `x.name` when the instance has a name. */
  readonly attributes: Attributes;
}

/** Instances followed at once; past this, new ones are ignored (with one warning). */
export const MAX_INSTANCES = 10_000;

/**
 * The open instances of the x packages: subscribes to `x:instances`, keeps the announced ones in
 * a Set (strong references: an instance is dropped when it announces `'close'`), and hands a
 * closing instance to `onClose` so its last counts can be kept.
 */
export class Instances {
  readonly #entries = new Map<object, Observed>();
  readonly #onClose: (observed: Observed) => void;
  #warned = false;
  #subscribed = true;

  constructor(onClose: (observed: Observed) => void) {
    this.#onClose = onClose;
    diagnostics_channel.subscribe(INSTANCES_CHANNEL, this.#listener);
    // Instances created before `instrument()` was called.
    for (const message of openInstances()) this.#listener(message);
  }

  /** The instances open now. */
  values(): IterableIterator<Observed> {
    return this.#entries.values();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Stops following instances and forgets them. Idempotent. */
  close(): void {
    if (!this.#subscribed) return;
    this.#subscribed = false;
    diagnostics_channel.unsubscribe(INSTANCES_CHANNEL, this.#listener);
    this.#entries.clear();
  }

  readonly #listener = (message: unknown): void => {
    const m = message as InstanceMessage;
    const instance = m?.instance;
    if (typeof instance !== 'object' || instance === null || typeof instance.stats !== 'function')
      return;
    if (m.event === 'close') {
      const observed = this.#entries.get(instance);
      if (observed === undefined) return;
      this.#entries.delete(instance);
      this.#onClose(observed);
      return;
    }
    if (m.event !== 'open' || this.#entries.has(instance) || typeof m.package !== 'string') return;
    if (this.#entries.size >= MAX_INSTANCES) {
      if (!this.#warned) {
        this.#warned = true;
        process.emitWarning(
          `[@x/otel] more than ${MAX_INSTANCES} x instances open at once: the next ones are not measured (are instances closed?)`,
        );
      }
      return;
    }
    const attributes: Attributes = { [ATTRIBUTES.package]: m.package };
    if (typeof m.name === 'string' && m.name !== '') attributes[ATTRIBUTES.name] = m.name;
    this.#entries.set(instance, { instance, package: m.package, attributes });
  };
}
