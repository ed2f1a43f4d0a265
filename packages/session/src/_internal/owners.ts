/**
 * The owner of each session id seen lately, bounded (oldest first out). The owner of an id never
 * changes, so a remembered one is always right: `touch`, `destroy` and `rotate` skip a round trip
 * for it. Forgetting only costs that round trip.
 */
export class Owners {
  readonly #owners = new Map<string, string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(id: string): string | undefined {
    return this.#owners.get(id);
  }

  remember(id: string, userId: string): void {
    if (this.#owners.size >= this.#max) {
      const oldest = this.#owners.keys().next().value;
      if (oldest !== undefined) this.#owners.delete(oldest);
    }
    this.#owners.set(id, userId);
  }

  forget(id: string): void {
    this.#owners.delete(id);
  }
}
